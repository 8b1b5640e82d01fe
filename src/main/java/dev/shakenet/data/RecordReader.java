package dev.shakenet.data;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/**
 * Decodes CIFAR binary records (CifarFormat: the label bytes, then the pixels), streamed from their files, straight into one pixel array and
 * one label array sized in advance: each file's records go to a fixed place (its first image),
 * so files may arrive in any order, and nothing is held twice (a raw copy of the files beside
 * the decoded images doubled the memory a run needed while loading). Images past the limit are
 * not kept.
 */
final class RecordReader {
    private final CifarFormat format;
    private final byte[] record;
    private final byte[] pixels;
    private final byte[] labels;

    /** @param images how many the files hold in all; @param limit the most to keep (0: all) */
    RecordReader(CifarFormat format, int images, int limit) {
        this.format = format;
        this.record = new byte[format.recordBytes()];
        int kept = limit > 0 ? Math.min(limit, images) : images;
        pixels = new byte[kept * ImageSet.IMAGE_BYTES];
        labels = new byte[kept];
    }

    /** Whether any of the images from {@code firstImage} on are kept. */
    boolean wants(int firstImage) {
        return firstImage < labels.length;
    }

    /** Reads the {@code bytes / recordBytes} records of {@code file} from {@code in} into images firstImage, firstImage+1, ... */
    void read(InputStream in, long bytes, String file, int firstImage) throws IOException {
        long records = Math.min(bytes / record.length, labels.length - (long) firstImage);
        int skip = format.labelBytes(), classes = format.classes();
        for (int r = 0; r < records; r++) {
            if (in.readNBytes(record, 0, record.length) != record.length) throw new EOFException(file + " ends inside record " + r);
            int label = record[format.labelIndex()] & 0xff;
            if (label >= classes) {
                throw new DataException(file + ": record " + r + " has label " + label + "; " + format.name() + " labels are 0.." + (classes - 1)
                        + (classes == 10 ? " (is this CIFAR-100? set data.dataset: cifar100)" : " (is this the " + format.name() + " binary version?)"));
            }
            labels[firstImage + r] = (byte) label;
            System.arraycopy(record, skip, pixels, (firstImage + r) * ImageSet.IMAGE_BYTES, ImageSet.IMAGE_BYTES);
        }
    }

    ImageSet build() {
        return new ImageSet(pixels, labels, labels.length, format.normalization());
    }
}
