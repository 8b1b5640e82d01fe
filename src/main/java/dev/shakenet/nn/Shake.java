package dev.shakenet.nn;

import dev.shakenet.torch.ShakeShake.Level;
import dev.shakenet.torch.ShakeShake.Mode;

/** How a network combines its two branches: the forward and backward coefficient modes and their level. */
public record Shake(Mode forward, Mode backward, Level level) {
    /** The paper's best: Shake-Shake-Image. */
    public static final Shake SHAKE_SHAKE_IMAGE = new Shake(Mode.SHAKE, Mode.SHAKE, Level.IMAGE);

    public Shake {
        if (forward == Mode.KEEP) throw new IllegalArgumentException("keep is a backward mode only; forward is shake or even");
    }
}
