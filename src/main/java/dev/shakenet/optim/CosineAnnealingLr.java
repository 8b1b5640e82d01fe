package dev.shakenet.optim;

import java.util.Arrays;

/**
 * PyTorch's {@code torch.optim.lr_scheduler.CosineAnnealingLR}, stepped once per epoch, value for
 * value: epoch 0 runs at the base rate and each later epoch's rate follows from the previous one
 * by PyTorch's recursive update, whose closed form is
 * {@code etaMin + (base - etaMin) * (1 + cos(pi * e / tMax)) / 2}. Past tMax the rate rises again
 * (period 2 tMax), as it does in PyTorch when training runs longer than tMax epochs.
 */
public final class CosineAnnealingLr implements LrSchedule {
    private final double base;
    private final int tMax;
    private final double etaMin;
    private double[] rates = new double[] {};

    public CosineAnnealingLr(double base, int tMax, double etaMin) {
        if (tMax < 1) throw new IllegalArgumentException("t_max must be >= 1, got " + tMax);
        this.base = base;
        this.tMax = tMax;
        this.etaMin = etaMin;
    }

    @Override
    public double lr(long step, int epoch) {
        if (epoch < 0) throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
        if (epoch >= rates.length) extendTo(epoch);
        return rates[epoch];
    }

    /** Runs PyTorch's get_lr() recursion (as in torch 1.13 and 2.x) up to {@code epoch}. */
    private void extendTo(int epoch) {
        int from = rates.length;
        rates = Arrays.copyOf(rates, Math.max(epoch + 1, 2 * rates.length));
        for (int e = from; e < rates.length; e++) {
            if (e == 0) {
                rates[e] = base;
            } else if ((e - 1 - tMax) % (2 * tMax) == 0) {
                // cos(pi * (e-1) / tMax) = -1 here, where the ratio below would divide by zero.
                rates[e] = rates[e - 1] + (base - etaMin) * (1 - Math.cos(Math.PI / tMax)) / 2;
            } else {
                rates[e] = (1 + Math.cos(Math.PI * e / tMax)) / (1 + Math.cos(Math.PI * (e - 1) / tMax))
                        * (rates[e - 1] - etaMin) + etaMin;
            }
        }
    }

    public double base() {
        return base;
    }

    public int tMax() {
        return tMax;
    }

    public double etaMin() {
        return etaMin;
    }

    @Override
    public String toString() {
        return "CosineAnnealingLr[base=" + base + ", tMax=" + tMax + ", etaMin=" + etaMin + "]";
    }
}
