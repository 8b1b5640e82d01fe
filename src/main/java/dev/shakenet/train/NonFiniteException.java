package dev.shakenet.train;

/** Training met an inf or NaN that its nonfinite policy does not allow: the run ends with exit code 3. */
public final class NonFiniteException extends RuntimeException {
    public static final int EXIT_CODE = 3;

    public NonFiniteException(String message) {
        super(message);
    }
}
