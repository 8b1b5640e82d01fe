package dev.shakenet.torch;

/** How a 4-d tensor's elements are laid out, with the codes of shakenet.h's sn_memory_format. */
public enum MemoryFormat {
    /** NCHW. */
    CONTIGUOUS(0),
    /** NHWC strides with NCHW sizes: what oneDNN and cuDNN prefer for convolutions. */
    CHANNELS_LAST(1),
    /** Keep the input's layout (conversions only). */
    PRESERVE(2);

    private final int code;

    MemoryFormat(int code) {
        this.code = code;
    }

    int code() {
        return code;
    }
}
