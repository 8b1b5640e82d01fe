package dev.shakenet.torch;

/** libshakenet (or the libtorch it needs) could not be found or loaded; the message says how to fix it. */
public class NativeLibraryException extends RuntimeException {
    public NativeLibraryException(String message) {
        super(message);
    }
}
