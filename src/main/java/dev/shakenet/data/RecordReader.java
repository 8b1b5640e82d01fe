package dev.shakenet.data;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/**
 * Decodes CIFAR-10 binary records, streamed from their files, straight into one pixel array and
 * one label array sized in advance: each file's records go to a fixed place (its first image),
 * so files may arrive in any order, and nothing is held twice (a raw copy of the files beside
 * the decoded images doubled the memory a run needed while loading). Images past the limit are
 * not kept.
 */
final class RecordReader {
    private final byte[] record = new byte[Cifar10.RECORD_BYTES];
    private final byte[] pixels;
    private final byte[] labels;

    /** @param images how many the files hold in all; @param limit the most to keep (0: all) */
    RecordReader(int images, int limit) {
        int kept = limit > 0 ? Math.min(limit, images) : images;
        pixels = new byte[kept * ImageSet.IMAGE_BYTES];
        labels = new byte[kept];
    }

    /** Whether any of the images from {@code firstImage} on are kept. */
    boolean wants(int firstImage) {
        return firstImage < labels.length;
    }

    /** Reads the {@code bytes / RECORD_BYTES} records of {@code file} from {@code in} into images firstImage, firstImage+1, ... */
    void read(InputStream in, long bytes, String file, int firstImage) throws IOException {
        long records = Math.min(bytes / Cifar10.RECORD_BYTES, labels.length - (long) firstImage);
        for (int r = 0; r < records; r++) {
            if (in.readNBytes(record, 0, record.length) != record.length) throw new EOFException(file + " ends inside record " + r);
            int label = record[0] & 0xff;
            if (label >= Cifar10.CLASSES) {
                throw new DataException(file + ": record " + r + " has label " + label
                        + "; CIFAR-10 labels are 0..9 (is this CIFAR-100, or not CIFAR at all?)");
            }
            labels[firstImage + r] = (byte) label;
            System.arraycopy(record, 1, pixels, (firstImage + r) * ImageSet.IMAGE_BYTES, ImageSet.IMAGE_BYTES);
        }
    }

    ImageSet build() {
        return new ImageSet(pixels, labels, labels.length);
    }
}
