package dev.shakenet.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** Reads the regular files of a (ustar or GNU) tar stream, in order. */
final class TarReader {
    /** A regular file in the archive. */
    record Entry(String name, long size) {}

    private static final int BLOCK = 512;
    private final InputStream in;
    private long pending; // bytes of the current entry (with padding) not yet consumed

    TarReader(InputStream in) {
        this.in = in;
    }

    /** The next regular file, or null at the end of the archive. */
    Entry next() throws IOException {
        skip(pending);
        pending = 0;
        byte[] header = new byte[BLOCK];
        while (true) {
            if (!readFully(header)) return null;
            if (isZero(header)) return null; // end-of-archive marker
            String name = text(header, 0, 100);
            String prefix = text(header, 345, 155);
            if (!prefix.isEmpty()) name = prefix + "/" + name;
            long size = octal(header, 124, 12);
            byte type = header[156];
            long padded = (size + BLOCK - 1) / BLOCK * BLOCK;
            if (type == '0' || type == 0) {
                pending = padded;
                return new Entry(name, size);
            }
            skip(padded); // folders, links, pax and GNU long-name headers
        }
    }

    /**
     * The content of {@code entry} (the entry {@link #next()} just returned) as a stream of at
     * most its size; what is left unread is skipped by the next call to {@link #next()}.
     */
    InputStream content(Entry entry) {
        return new InputStream() {
            private long left = entry.size();

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (left == 0) return -1;
                int n = in.read(b, off, (int) Math.min(len, left));
                if (n < 0) throw new java.io.EOFException("archive ends inside " + entry.name());
                left -= n;
                pending -= n;
                return n;
            }
        };
    }

    private boolean readFully(byte[] buffer) throws IOException {
        int n = in.readNBytes(buffer, 0, buffer.length);
        if (n == 0) return false;
        if (n < buffer.length) throw new java.io.EOFException("archive ends after " + n + " of " + buffer.length + " bytes of a block");
        return true;
    }

    private void skip(long bytes) throws IOException {
        while (bytes > 0) {
            long skipped = in.skip(bytes);
            if (skipped <= 0) {
                if (in.read() < 0) throw new java.io.EOFException("archive ends inside an entry");
                skipped = 1;
            }
            bytes -= skipped;
        }
    }

    private static boolean isZero(byte[] block) {
        for (byte b : block) if (b != 0) return false;
        return true;
    }

    private static String text(byte[] header, int offset, int length) {
        int end = offset;
        while (end < offset + length && header[end] != 0) end++;
        return new String(header, offset, end - offset, StandardCharsets.UTF_8);
    }

    private static long octal(byte[] header, int offset, int length) {
        long value = 0;
        for (int i = offset; i < offset + length; i++) {
            byte b = header[i];
            if (b == 0 || b == ' ') {
                if (value > 0) break;
                continue;
            }
            if (b < '0' || b > '7') throw new DataException("corrupt tar header: bad size field");
            value = value * 8 + (b - '0');
        }
        return value;
    }
}
