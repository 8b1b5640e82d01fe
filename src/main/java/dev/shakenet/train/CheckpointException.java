package dev.shakenet.train;

/** A checkpoint or weights file is missing, unreadable or does not fit the model; the message says which and why. */
public class CheckpointException extends RuntimeException {
    public CheckpointException(String message) {
        super(message);
    }
}
