package dev.shakenet.tensorboard;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads an event file back for tests: every record's framing and both CRCs checked, each Event decoded from the wire format. */
public final class EventFileReader {
    /** One decoded Event: the file version, a scalar (tag, value), a text (tag, plugin, text) or a SessionLog status, at a step. */
    public record Event(double wallTime, long step, String fileVersion, String tag, Float value, String plugin, String text, Integer sessionStatus) {}

    private EventFileReader() {}

    public static List<Event> read(Path file) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        List<Event> events = new ArrayList<>();
        while (in.hasRemaining()) {
            byte[] length = new byte[8];
            in.get(length);
            assertEquals(TfRecord.maskedCrc(length, 0, 8), in.getInt(), "length CRC of record " + events.size());
            byte[] data = new byte[(int) ByteBuffer.wrap(length).order(ByteOrder.LITTLE_ENDIAN).getLong()];
            in.get(data);
            assertEquals(TfRecord.maskedCrc(data, 0, data.length), in.getInt(), "data CRC of record " + events.size());
            events.add(decode(data));
        }
        return events;
    }

    /**
     * What TensorBoard shows of a run folder: its event files in name order, each SessionLog START
     * at step s dropping the points at steps >= s read before it.
     */
    public static List<Event> replay(Path runFolder) throws IOException {
        List<Path> files;
        try (var s = Files.list(runFolder)) {
            files = s.filter(p -> p.getFileName().toString().startsWith(EventWriter.PREFIX)).sorted().toList();
        }
        List<Event> shown = new ArrayList<>();
        for (Path f : files) {
            for (Event e : read(f)) {
                if (e.sessionStatus() != null && e.sessionStatus() == 1) shown.removeIf(x -> x.tag() != null && x.step() >= e.step());
                else if (e.tag() != null) shown.add(e);
            }
        }
        return shown;
    }

    private static Event decode(byte[] data) {
        ByteBuffer in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        double wall = 0;
        long step = 0;
        String version = null, tag = null;
        Float value = null;
        String plugin = null, text = null;
        Integer status = null;
        while (in.hasRemaining()) {
            long key = varint(in);
            int field = (int) (key >>> 3);
            switch (field) {
                case 1 -> wall = in.getDouble();
                case 2 -> step = varint(in);
                case 3 -> version = new String(bytes(in), StandardCharsets.UTF_8);
                case 5 -> { // Summary { one Value }
                    ByteBuffer summary = ByteBuffer.wrap(bytes(in)).order(ByteOrder.LITTLE_ENDIAN);
                    assertEquals(0x0a, varint(summary));
                    ByteBuffer v = ByteBuffer.wrap(bytes(summary)).order(ByteOrder.LITTLE_ENDIAN);
                    assertFalse(summary.hasRemaining(), "one value per event");
                    while (v.hasRemaining()) {
                        long k = varint(v);
                        switch ((int) k) {
                            case 0x0a -> tag = new String(bytes(v), StandardCharsets.UTF_8); // 1 tag
                            case 0x15 -> value = v.getFloat();                                // 2 simple_value
                            case 0x42 -> text = stringTensor(bytes(v));                       // 8 tensor
                            case 0x4a -> plugin = pluginName(bytes(v));                       // 9 metadata
                            default -> fail("unexpected Value key " + k);
                        }
                    }
                }
                case 6 -> {
                    ByteBuffer log = ByteBuffer.wrap(bytes(in)).order(ByteOrder.LITTLE_ENDIAN);
                    assertEquals(0x08, varint(log));
                    status = (int) varint(log);
                }
                default -> fail("unexpected field " + field);
            }
        }
        return new Event(wall, step, version, tag, value, plugin, text, status);
    }

    /** SummaryMetadata { 1 plugin_data { 1 plugin_name } }. */
    private static String pluginName(byte[] metadata) {
        ByteBuffer m = ByteBuffer.wrap(metadata);
        assertEquals(0x0a, varint(m));
        ByteBuffer p = ByteBuffer.wrap(bytes(m));
        assertEquals(0x0a, varint(p));
        return new String(bytes(p), StandardCharsets.UTF_8);
    }

    /** TensorProto { 1 dtype DT_STRING, 2 shape [1], 8 string_val }: the one string. */
    private static String stringTensor(byte[] tensor) {
        ByteBuffer t = ByteBuffer.wrap(tensor);
        assertEquals(0x08, varint(t));
        assertEquals(7, varint(t), "DT_STRING");
        assertEquals(0x12, varint(t));
        assertArrayEquals(new byte[] {0x12, 0x02, 0x08, 0x01}, bytes(t), "shape: one dim of size 1");
        assertEquals(0x42, varint(t));
        String s = new String(bytes(t), StandardCharsets.UTF_8);
        assertFalse(t.hasRemaining());
        return s;
    }

    private static byte[] bytes(ByteBuffer in) {
        byte[] b = new byte[(int) varint(in)];
        in.get(b);
        return b;
    }

    private static long varint(ByteBuffer in) {
        long v = 0;
        for (int shift = 0; ; shift += 7) {
            int b = in.get() & 0xff;
            v |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) return v;
        }
    }
}
