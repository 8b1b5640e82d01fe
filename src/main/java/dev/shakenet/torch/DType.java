package dev.shakenet.torch;

/** Element types, with the codes of shakenet.h's sn_dtype. */
public enum DType {
    FLOAT32(0, 4), FLOAT64(1, 8), FLOAT16(2, 2), BFLOAT16(3, 2),
    UINT8(4, 1), INT32(5, 4), INT64(6, 8), BOOL(7, 1);

    private final int code;
    private final int byteSize;

    DType(int code, int byteSize) {
        this.code = code;
        this.byteSize = byteSize;
    }

    int code() {
        return code;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    public boolean isFloatingPoint() {
        return this == FLOAT32 || this == FLOAT64 || this == FLOAT16 || this == BFLOAT16;
    }

    static DType ofCode(int code) {
        for (DType type : values()) {
            if (type.code == code) return type;
        }
        throw new IllegalStateException("libshakenet returned unknown dtype code " + code);
    }
}
