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
        // Summary = key + 2-byte length + 208 = 211 (0xd3 0x01); the tag's length 200 = 0xc8 0x01
        String hex = HexFormat.of().formatHex(event);
        assertTrue(hex.startsWith("09" + "0000000000000000" + "10ac02" + "2ad301" + "0ad001" + "0ac801"), hex);
        assertTrue(hex.endsWith("15" + "0000803f"), "simple_value 1.0f: " + hex);
    }
}
