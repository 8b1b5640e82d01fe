package dev.shakenet.tensorboard;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * TFRecord framing, the container of TensorBoard's event files: for each record its length
 * (uint64, little-endian), the masked CRC-32C of those 8 bytes, the data, and the masked CRC-32C
 * of the data (both CRCs uint32, little-endian).
 */
public final class TfRecord {
    private TfRecord() {}

    /** TensorFlow's mask over a CRC-32C: rotate right by 15 bits, add a constant. */
    public static int maskedCrc(byte[] bytes, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, offset, length);
        int c = (int) crc.getValue();
        return ((c >>> 15) | (c << 17)) + 0xa282ead8;
    }

    /** Writes one framed record. */
    public static void write(OutputStream out, byte[] data) throws IOException {
        byte[] length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(data.length).array();
        out.write(length);
        out.write(le32(maskedCrc(length, 0, 8)));
        out.write(data);
        out.write(le32(maskedCrc(data, 0, data.length)));
    }

    private static byte[] le32(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }
}
