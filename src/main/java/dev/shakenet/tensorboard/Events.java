package dev.shakenet.tensorboard;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The few TensorBoard protobuf messages ShakeNet writes, encoded by hand with the published field
 * numbers (tensorflow/core/util/event.proto, summary.proto): Event {1 wall_time double, 2 step
 * int64, 3 file_version string, 5 summary Summary, 6 session_log SessionLog}; Summary {1 repeated
 * Value}; Value {1 tag string, 2 simple_value float, 8 tensor TensorProto, 9 metadata
 * SummaryMetadata}; SessionLog {1 status}; for text, SummaryMetadata {1 plugin_data {1 plugin_name}},
 * TensorProto {1 dtype, 2 tensor_shape {2 dim {1 size}}, 8 string_val}. A handful of messages do not
 * warrant a protobuf dependency and its generated classes.
 */
public final class Events {
    private Events() {}

    /** The first record of every event file. */
    public static byte[] fileVersion(double wallTime) {
        Proto p = eventAt(wallTime, 0);
        p.bytes(3, "brain.Event:2".getBytes(StandardCharsets.UTF_8));
        return p.toByteArray();
    }

    /** An event with one scalar {@code tag} = {@code value} at global step {@code step}. */
    public static byte[] scalar(double wallTime, long step, String tag, float value) {
        Proto v = new Proto();
        v.bytes(1, tag.getBytes(StandardCharsets.UTF_8));
        v.fixed32(2, Float.floatToRawIntBits(value));
        return summaryEvent(wallTime, step, v);
    }

    /**
     * An event with one text summary at {@code step}, as PyTorch's {@code add_text} writes it: a
     * one-element string tensor for TensorBoard's text plugin, which renders it as Markdown.
     */
    public static byte[] text(double wallTime, long step, String tag, String text) {
        Proto pluginData = new Proto();
        pluginData.bytes(1, "text".getBytes(StandardCharsets.UTF_8));
        Proto metadata = new Proto();
        metadata.bytes(1, pluginData.toByteArray());
        Proto dim = new Proto();
        dim.varint(1, 1);
        Proto shape = new Proto();
        shape.bytes(2, dim.toByteArray());
        Proto tensor = new Proto();
        tensor.varint(1, DT_STRING);
        tensor.bytes(2, shape.toByteArray());
        tensor.bytes(8, text.getBytes(StandardCharsets.UTF_8));
        Proto v = new Proto();
        v.bytes(1, tag.getBytes(StandardCharsets.UTF_8));
        v.bytes(8, tensor.toByteArray());
        v.bytes(9, metadata.toByteArray());
        return summaryEvent(wallTime, step, v);
    }

    private static final int DT_STRING = 7; // tensorflow/core/framework/types.proto

    private static byte[] summaryEvent(double wallTime, long step, Proto value) {
        Proto summary = new Proto();
        summary.bytes(1, value.toByteArray());
        Proto event = eventAt(wallTime, step);
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
        Proto event = eventAt(wallTime, step);
        event.bytes(6, log.toByteArray());
        return event.toByteArray();
    }

    /**
     * An Event's wall_time and step as protobuf itself writes them: proto3 leaves out a field that
     * holds its default (step 0 at the start of a run), so the bytes are protobuf's own.
     */
    private static Proto eventAt(double wallTime, long step) {
        Proto event = new Proto();
        if (Double.doubleToRawLongBits(wallTime) != 0) event.fixed64(1, Double.doubleToRawLongBits(wallTime));
        if (step != 0) event.varint(2, step);
        return event;
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
