package dev.shakenet.data;

/** A dataset file is missing, truncated or not what it should be; the message names the file and what was expected. */
public class DataException extends RuntimeException {
    public DataException(String message) {
        super(message);
    }

    public DataException(String message, Throwable cause) {
        super(message, cause);
    }
}
