package dev.shakenet.tensorboard;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The few TensorBoard protobuf messages ShakeNet writes, encoded by hand with the published field
 * numbers (tensorflow/core/util/event.proto, summary.proto): Event {1 wall_time double, 2 step
 * int64, 3 file_version string, 5 summary Summary, 6 session_log SessionLog}; Summary {1 repeated
 * Value}; Value {1 tag string, 2 simple_value float}; SessionLog {1 status}. Three messages do not warrant a protobuf dependency and its
 * generated classes.
 */
public final class Events {
    private Events() {}

    /** The first record of every event file. */
    public static byte[] fileVersion(double wallTime) {
        Proto p = new Proto();
        p.fixed64(1, Double.doubleToRawLongBits(wallTime));
        p.bytes(3, "brain.Event:2".getBytes(StandardCharsets.UTF_8));
        return p.toByteArray();
    }

    /** An event with one scalar {@code tag} = {@code value} at global step {@code step}. */
    public static byte[] scalar(double wallTime, long step, String tag, float value) {
        Proto v = new Proto();
        v.bytes(1, tag.getBytes(StandardCharsets.UTF_8));
        v.fixed32(2, Float.floatToRawIntBits(value));
        Proto summary = new Proto();
        summary.bytes(1, v.toByteArray());
        Proto event = new Proto();
        event.fixed64(1, Double.doubleToRawLongBits(wallTime));
        event.varint(2, step);
        event.bytes(5, summary.toByteArray());
        return event.toByteArray();
    }

    /**
     * A SessionLog START at {@code step} (Event field 6, SessionLog {1 status: START = 1}):
     * TensorBoard then drops the points at and after that step that earlier files hold, so a
     * resumed run's rewritten steps replace the stale ones.
     */
    public static byte[] sessionStart(double wallTime, long step) {
        Proto log = new Proto();
        log.varint(1, 1);
        Proto event = new Proto();
        event.fixed64(1, Double.doubleToRawLongBits(wallTime));
        event.varint(2, step);
        event.bytes(6, log.toByteArray());
        return event.toByteArray();
    }

    /** Protobuf's wire format, the three wire types used here. */
    static final class Proto {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        void varint(int field, long value) {
            key(field, 0);
            rawVarint(value);
        }

        void fixed64(int field, long bits) {
            key(field, 1);
            for (int i = 0; i < 8; i++) out.write((int) (bits >>> (8 * i)) & 0xff);
        }

        void fixed32(int field, int bits) {
            key(field, 5);
            for (int i = 0; i < 4; i++) out.write((bits >>> (8 * i)) & 0xff);
        }

        void bytes(int field, byte[] value) {
            key(field, 2);
            rawVarint(value.length);
            out.writeBytes(value);
        }

        private void key(int field, int wireType) {
            rawVarint(((long) field << 3) | wireType);
        }

        private void rawVarint(long v) {
            while ((v & ~0x7fL) != 0) {
                out.write((int) ((v & 0x7f) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }

        byte[] toByteArray() {
            return out.toByteArray();
        }
    }
}
