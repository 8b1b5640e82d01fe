package dev.shakenet.torch;

/** A native call failed; the message is libshakenet's (usually libtorch's own words). */
public class TorchException extends RuntimeException {

    /** Why a native call failed, from shakenet.h's sn_status. */
    public enum Kind {
        TORCH, INVALID_ARGUMENT, OUT_OF_MEMORY, INTERNAL, UNKNOWN;

        static Kind of(int status) {
            return switch (status) {
                case 1 -> TORCH;
                case 2 -> INVALID_ARGUMENT;
                case 3 -> OUT_OF_MEMORY;
                case 4 -> INTERNAL;
                default -> UNKNOWN;
            };
        }
    }

    private final Kind kind;

    public TorchException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
