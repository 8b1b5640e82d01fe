package dev.shakenet.tensorboard;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * TFRecord framing and the hand-encoded Event messages, against values computed independently:
 * CRC-32C's published check value, and records built byte by byte by a separate script (a
 * bitwise CRC-32C and struct packing in Python, kept in the comments).
 */
class TfRecordTest {
    @Test
    void maskedCrcOfTheCheckString() {
        // CRC-32C("123456789") = 0xE3069283 (the standard check value); masked: rotate right 15, + 0xA282EAD8
        byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
        assertEquals(0xc78ab0e5, TfRecord.maskedCrc(check, 0, check.length));
    }

    @Test
    void aScalarEventRecordIsByteForByteTheIndependentEncoding() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        TfRecord.write(out, Events.scalar(1.5, 7, "lr", 0.25f));
        // length 24, masked CRC of it, Event{wall_time 1.5, step 7, summary{value{tag "lr", simple_value 0.25}}}, masked CRC
        assertEquals("1800000000000000a37f4b2209000000000000f83f10072a0b0a090a026c72150000803e014a6ca0",
                HexFormat.of().formatHex(out.toByteArray()));
    }

    @Test
    void theFileVersionEventCarriesBrainEvent2() {
        byte[] event = Events.fileVersion(2.0);
        // field 1 (fixed64) 2.0, field 3 (length-delimited) "brain.Event:2"
        assertEquals("090000000000000040" + "1a0d" + HexFormat.of().formatHex("brain.Event:2".getBytes(StandardCharsets.US_ASCII)),
                HexFormat.of().formatHex(event));
    }

    @Test
    void aLongStepAndTagUseMultiByteVarints() {
        byte[] event = Events.scalar(0, 300, "t".repeat(200), 1f);
        // step 300 = 0xac 0x02; Value = key + 2-byte length + 200 + key + 4 = 208 bytes (0xd0 0x01);
        // Summary = key + 2-byte length + 208 = 211 (0xd3 0x01); the tag's length 200 = 0xc8 0x01;
        // wall_time 0 is left out, as proto3 leaves out defaults
        String hex = HexFormat.of().formatHex(event);
        assertTrue(hex.startsWith("10ac02" + "2ad301" + "0ad001" + "0ac801"), hex);
        assertTrue(hex.endsWith("15" + "0000803f"), "simple_value 1.0f: " + hex);
    }

    @Test
    void aTextEventIsByteForByteWhatProtobufWrites() {
        // Serialized by Debian's python3-protobuf from classes protoc generated out of
        // src/test/python/tensorboard_events.proto: Event{wall_time 1.5, step 7, summary{value{
        // tag "config/text_summary", metadata{plugin_data{plugin_name "text"}}, tensor{dtype DT_STRING,
        // tensor_shape{dim{size 1}}, string_val "    {\"a\": 1}"}}}}
        assertEquals("09000000000000f83f10072a390a370a13636f6e6669672f746578745f73756d6d61727942160807120412020801"
                        + "420c202020207b2261223a20317d4a080a060a0474657874",
                HexFormat.of().formatHex(Events.text(1.5, 7, "config/text_summary", "    {\"a\": 1}")));
    }

    @Test
    void stepZeroIsLeftOutButAZeroValueIsWritten() {
        // python3-protobuf's bytes for Event{wall_time 2.0, step 0, summary{value{tag "x", simple_value 0.0}}}:
        // proto3 leaves out the step at its default; simple_value sits in a oneof, so its 0.0 is kept
        assertEquals("0900000000000000402a0a0a080a01781500000000", HexFormat.of().formatHex(Events.scalar(2.0, 0, "x", 0f)));
    }

    @Test
    void preformattedTextIsAnIndentedMarkdownBlock() {
        assertEquals("    {\n      \"a\": 1\n    }", EventWriter.preformatted("{\n  \"a\": 1\n}\n"));
    }
}
