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
    /** One decoded Event: the file version, a scalar (tag, value) or a SessionLog status, at a step. */
    public record Event(double wallTime, long step, String fileVersion, String tag, Float value, Integer sessionStatus) {}

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

    private static Event decode(byte[] data) {
        ByteBuffer in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        double wall = 0;
        long step = 0;
        String version = null, tag = null;
        Float value = null;
        Integer status = null;
        while (in.hasRemaining()) {
            long key = varint(in);
            int field = (int) (key >>> 3);
            switch (field) {
                case 1 -> wall = in.getDouble();
                case 2 -> step = varint(in);
                case 3 -> version = new String(bytes(in), StandardCharsets.UTF_8);
                case 5 -> { // Summary { Value { tag, simple_value } }
                    ByteBuffer summary = ByteBuffer.wrap(bytes(in)).order(ByteOrder.LITTLE_ENDIAN);
                    assertEquals(0x0a, varint(summary));
                    ByteBuffer v = ByteBuffer.wrap(bytes(summary)).order(ByteOrder.LITTLE_ENDIAN);
                    assertEquals(0x0a, varint(v));
                    tag = new String(bytes(v), StandardCharsets.UTF_8);
                    assertEquals(0x15, varint(v));
                    value = v.getFloat();
                }
                case 6 -> {
                    ByteBuffer log = ByteBuffer.wrap(bytes(in)).order(ByteOrder.LITTLE_ENDIAN);
                    assertEquals(0x08, varint(log));
                    status = (int) varint(log);
                }
                default -> fail("unexpected field " + field);
            }
        }
        return new Event(wall, step, version, tag, value, status);
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
