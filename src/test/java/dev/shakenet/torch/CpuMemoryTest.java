package dev.shakenet.torch;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The caching CPU allocator (native/src/cpu/cpu_allocator.cpp, part of the CPU-kernels engine): exact byte accounting, reuse of a
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
        org.junit.jupiter.api.Assumptions.assumeTrue(CpuKernels.available(),
                "this libshakenet has no CPU kernels (built without oneDNN's headers), so no caching allocator: test skipped");
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
        // 24 MiB more would map 56 MiB where 32 were ever needed: the pages of three idle 8 MiB
        // blocks are moved into one 24 MiB range instead; nothing is mapped or given back.
        try (Tensor big = filled(7, 3 * FLOATS_8_MIB)) {
            CpuMemory.Stats s = CpuMemory.stats();
            assertEquals(s0.misses() + 5, s.misses());
            assertEquals(s0.mappedBytes() + 32 * MIB, s.mappedBytes());
            assertEquals(s0.releasedBytes(), s.releasedBytes());
            assertEquals(8 * MIB, s.idleBytes());
            try (Tensor last = filled(9, FLOATS_8_MIB)) { // the fourth idle block, reused whole
                assertEquals(s.hits() + 1, CpuMemory.stats().hits());
                assertEquals(0, CpuMemory.stats().idleBytes());
                assertEquals(7.0 * 3 * FLOATS_8_MIB, sum(big));
                assertEquals(9.0 * FLOATS_8_MIB, sum(last));
            }
        }
        CpuMemory.releaseIdle();
        assertEquals(0, CpuMemory.stats().idleBytes());
        assertEquals(s0.mappedBytes(), CpuMemory.stats().mappedBytes(), "everything unmapped again");
    }

    @Test
    void aGatheredBlockFaultsInOnlyWhatIdleBlocksDoNotCover() {
        CpuMemory.Stats s0 = CpuMemory.stats();
        try (Tensor kept = filled(1, FLOATS_8_MIB)) {
            filled(2, FLOATS_8_MIB).close(); // 16 MiB needed at once, 8 of them idle now
            // 16 MiB more: 8 live + 16 is the new most needed at once (24 MiB); the idle 8 MiB
            // block's pages fill half the new range, the other half is new.
            try (Tensor big = filled(3, 2 * FLOATS_8_MIB)) {
                CpuMemory.Stats s = CpuMemory.stats();
                assertEquals(s0.mappedBytes() + 24 * MIB, s.mappedBytes());
                assertEquals(s0.releasedBytes(), s.releasedBytes());
                assertEquals(0, s.idleBytes());
                assertEquals(1.0 * FLOATS_8_MIB, sum(kept));
                assertEquals(3.0 * 2 * FLOATS_8_MIB, sum(big));
            }
        }
    }

    @Test
    void idlePagesServeAMissEvenWellBelowThePeak() {
        Tensor[] three = new Tensor[3];
        for (int i = 0; i < 3; i++) three[i] = filled(i, FLOATS_8_MIB); // 24 MiB needed at once
        for (Tensor t : three) t.close();
        CpuMemory.releaseIdle();
        CpuMemory.Stats s0 = CpuMemory.stats();
        filled(1, FLOATS_8_MIB / 2).close(); // 4 MiB mapped, idle
        // 2 MiB more would fit under the 24 MiB peak, but fresh pages would be faulted in and
        // zeroed: the idle block's first half serves it, and nothing new is mapped.
        try (Tensor small = filled(2, FLOATS_8_MIB / 4)) {
            CpuMemory.Stats s = CpuMemory.stats();
            assertEquals(s0.mappedBytes() + 4 * MIB, s.mappedBytes());
            assertEquals(2 * MIB, s.idleBytes());
            assertEquals(2.0 * FLOATS_8_MIB / 4, sum(small));
        }
    }

    @Test
    void aSplitBlockKeepsItsContentsApartFromOthers() {
        CpuMemory.Stats s0 = CpuMemory.stats();
        try (Tensor a = filled(1, FLOATS_8_MIB); Tensor b = filled(2, FLOATS_8_MIB)) {
            assertEquals(s0.mappedBytes() + 16 * MIB, CpuMemory.stats().mappedBytes());
        }
        // 16 MiB were needed at once; 4 MiB more on top of 16 idle would exceed it: the first
        // half of an idle 8 MiB block serves the request and its second half stays idle; the
        // 8 MiB request after it takes the other idle block whole.
        try (Tensor small = filled(3, FLOATS_8_MIB / 2)) {
            assertEquals(4 * MIB + 8 * MIB, CpuMemory.stats().idleBytes());
            try (Tensor other = filled(4, FLOATS_8_MIB); Tensor rest = filled(5, FLOATS_8_MIB / 2)) {
                CpuMemory.Stats s = CpuMemory.stats();
                assertEquals(s0.mappedBytes() + 16 * MIB, s.mappedBytes());
                assertEquals(s0.releasedBytes(), s.releasedBytes());
                assertEquals(0, s.idleBytes(), "the split-off half served the second 4 MiB");
                assertEquals(3.0 * FLOATS_8_MIB / 2, sum(small));
                assertEquals(4.0 * FLOATS_8_MIB, sum(other));
                assertEquals(5.0 * FLOATS_8_MIB / 2, sum(rest));
            }
        }
    }

    static long mappings() throws java.io.IOException {
        try (var lines = java.nio.file.Files.lines(java.nio.file.Path.of("/proc/self/maps"))) {
            return lines.count();
        }
    }

    @Test
    void theProcesssMappingsStayFewUnderShiftingSizes() throws java.io.IOException {
        // Steps shaped like training's: a forward that keeps activations of mixed sizes (whole
        // 2 MiB multiples and odd page counts) while temporaries come and go, then a backward
        // that frees them while asking for other sizes. Splitting and gathering idle blocks must
        // not leave the kernel with ever more mappings (its limit is 65,530 per process).
        long[] pages = {512, 1024, 2048, 288, 144, 579, 1537, 96, 4096};
        long before = 0;
        for (int step = 0; step < 240; step++) {
            java.util.Random rng = new java.util.Random(step % 5);
            java.util.ArrayDeque<Tensor> kept = new java.util.ArrayDeque<>();
            for (int i = 0; i < 10; i++) {
                kept.push(Tensor.zeros(DType.UINT8, Device.CPU, 4096 * pages[rng.nextInt(pages.length)]));
                Tensor.zeros(DType.UINT8, Device.CPU, 4096 * pages[rng.nextInt(pages.length)]).close();
            }
            while (!kept.isEmpty()) {
                try (Tensor gradient = Tensor.zeros(DType.UINT8, Device.CPU, 4096 * pages[rng.nextInt(pages.length)])) {
                    kept.pop().close();
                }
            }
            if (step == 40) before = mappings();
        }
        long growth = mappings() - before;
        assertTrue(growth < 64, "mappings grew by " + growth + " in 200 steps");
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
