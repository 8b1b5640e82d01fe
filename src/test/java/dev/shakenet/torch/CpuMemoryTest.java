package dev.shakenet.torch;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The caching CPU allocator (native/src/cpu_allocator.cpp): exact byte accounting, reuse of a
 * freed block by the next request of its size, no aliasing between live tensors, and a mapped
 * total bounded by the most ever needed at once. Expected counts are worked out by hand from the
 * sizes requested (4 KiB pages).
 */
class CpuMemoryTest {
    static final long MIB = 1L << 20;
    static final long FLOATS_8_MIB = 2 * MIB; // 2 Mi float32 elements = 8 MiB

    private boolean wasCaching;

    @BeforeEach
    void install() {
        wasCaching = CpuMemory.isCaching();
        CpuMemory.useCachingAllocator(true);
        CpuMemory.releaseIdle();
        CpuMemory.resetPeak();
    }

    @AfterEach
    void restore() {
        CpuMemory.useCachingAllocator(wasCaching);
    }

    static Tensor filled(double value, long elements) {
        return Tensor.full(value, DType.FLOAT32, Device.CPU, elements);
    }

    static double sum(Tensor t) {
        try (Tensor s = t.sum()) {
            return s.item();
        }
    }

    @Test
    void aFreedBlockServesTheNextRequestOfItsSize() {
        CpuMemory.Stats s0 = CpuMemory.stats();
        CpuMemory.Stats held;
        try (Tensor a = filled(1, FLOATS_8_MIB)) {
            held = CpuMemory.stats();
        }
        CpuMemory.Stats freed = CpuMemory.stats();
        assertEquals(s0.liveBytes() + 8 * MIB, held.liveBytes());
        assertEquals(s0.mappedBytes() + 8 * MIB, held.mappedBytes());
        assertEquals(s0.misses() + 1, held.misses());
        assertEquals(s0.liveBytes(), freed.liveBytes(), "freeing returns the bytes");
        assertEquals(8 * MIB, freed.idleBytes(), "the block waits, still mapped");
        assertEquals(held.mappedBytes(), freed.mappedBytes());

        try (Tensor b = filled(2, FLOATS_8_MIB)) {
            CpuMemory.Stats reused = CpuMemory.stats();
            assertEquals(freed.hits() + 1, reused.hits());
            assertEquals(freed.misses(), reused.misses());
            assertEquals(0, reused.idleBytes());
            try (Tensor c = filled(3, FLOATS_8_MIB)) { // no idle block left: a new one, not b's
                assertEquals(reused.misses() + 1, CpuMemory.stats().misses());
                assertEquals(2.0 * FLOATS_8_MIB, sum(b));
                assertEquals(3.0 * FLOATS_8_MIB, sum(c));
            }
        }
        long peak = CpuMemory.stats().peakLiveBytes(); // b and c, plus the sums' scalars
        assertTrue(peak >= s0.liveBytes() + 16 * MIB && peak < s0.liveBytes() + 17 * MIB, "peak " + peak);
    }

    @Test
    void largeRequestsAreRoundedToWholePages() {
        CpuMemory.Stats s0 = CpuMemory.stats();
        try (Tensor t = Tensor.zeros(DType.UINT8, Device.CPU, 300_001)) {
            // 300,001 bytes -> 74 pages of 4,096 = 303,104 bytes
            assertEquals(s0.liveBytes() + 303_104, CpuMemory.stats().liveBytes());
        }
        try (Tensor t = Tensor.zeros(DType.UINT8, Device.CPU, 300_002)) {
            assertEquals(s0.hits() + 1, CpuMemory.stats().hits(), "same page count, same block");
        }
    }

    @Test
    void mappedMemoryStaysWithinTheMostEverNeededAtOnce() {
        CpuMemory.Stats s0 = CpuMemory.stats();
        Tensor[] four = new Tensor[4];
        for (int i = 0; i < 4; i++) four[i] = filled(i, FLOATS_8_MIB); // 32 MiB at once
        for (Tensor t : four) t.close();
        assertEquals(s0.mappedBytes() + 32 * MIB, CpuMemory.stats().mappedBytes());
        // 24 MiB more would map 56 MiB where 32 were ever needed: one idle 8 MiB block is grown
        // into the 24 MiB one, and two more are unmapped.
        try (Tensor big = filled(7, 3 * FLOATS_8_MIB)) {
            CpuMemory.Stats s = CpuMemory.stats();
            assertEquals(s0.mappedBytes() + 32 * MIB, s.mappedBytes());
            assertEquals(s0.releasedBytes() + 16 * MIB, s.releasedBytes());
            assertEquals(8 * MIB, s.idleBytes());
            assertEquals(7.0 * 3 * FLOATS_8_MIB, sum(big));
        }
        CpuMemory.releaseIdle();
        assertEquals(0, CpuMemory.stats().idleBytes());
        assertEquals(s0.mappedBytes(), CpuMemory.stats().mappedBytes(), "everything unmapped again");
    }

    @Test
    void aShrunkBlockKeepsItsContentsApartFromOthers() {
        CpuMemory.Stats s0 = CpuMemory.stats();
        try (Tensor a = filled(1, FLOATS_8_MIB); Tensor b = filled(2, FLOATS_8_MIB)) {
            assertEquals(s0.mappedBytes() + 16 * MIB, CpuMemory.stats().mappedBytes());
        }
        // 16 MiB were needed at once; 4 MiB + 16 MiB idle would exceed it: an idle 8 MiB block
        // is shrunk to 4 MiB, so the mapped total falls to 12 MiB, nothing new is mapped.
        try (Tensor small = filled(3, FLOATS_8_MIB / 2); Tensor other = filled(4, FLOATS_8_MIB)) {
            CpuMemory.Stats s = CpuMemory.stats();
            assertEquals(s0.mappedBytes() + 12 * MIB, s.mappedBytes());
            assertEquals(s0.releasedBytes() + 4 * MIB, s.releasedBytes());
            assertEquals(3.0 * FLOATS_8_MIB / 2, sum(small));
            assertEquals(4.0 * FLOATS_8_MIB, sum(other));
        }
    }

    @Test
    void libtorchsDefaultAllocatorCanBePutBack() {
        CpuMemory.useCachingAllocator(false);
        assertFalse(CpuMemory.isCaching());
        long live = CpuMemory.stats().liveBytes();
        try (Tensor t = filled(5, FLOATS_8_MIB)) {
            assertEquals(live, CpuMemory.stats().liveBytes(), "the default allocator is not counted");
            assertEquals(5.0 * FLOATS_8_MIB, sum(t));
        }
        CpuMemory.useCachingAllocator(true);
        assertTrue(CpuMemory.isCaching());
    }
}
