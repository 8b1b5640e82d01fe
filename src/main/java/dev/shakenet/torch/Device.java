package dev.shakenet.torch;

/**
 * Where a tensor lives: the CPU or one CUDA device. Written as in PyTorch: {@code cpu},
 * {@code cuda} (the current CUDA device) or {@code cuda:N}.
 */
public record Device(Type type, int index) {

    public enum Type { CPU, CUDA }

    public static final Device CPU = new Device(Type.CPU, -1);

    public Device {
        if (type == Type.CPU && index != -1) {
            throw new IllegalArgumentException("the CPU device has no index, got " + index);
        }
        if (index < -1) {
            throw new IllegalArgumentException("device index must be >= 0 (or -1 for the current device), got " + index);
        }
    }

    public static Device cuda(int index) {
        return new Device(Type.CUDA, index);
    }

    /** Parses "cpu", "cuda" or "cuda:N". */
    public static Device parse(String text) {
        String s = text.trim().toLowerCase(java.util.Locale.ROOT);
        if (s.equals("cpu")) return CPU;
        if (s.equals("cuda")) return new Device(Type.CUDA, -1);
        if (s.startsWith("cuda:")) {
            try {
                int index = Integer.parseInt(s.substring(5));
                if (index >= 0) return cuda(index);
            } catch (NumberFormatException ignored) {
                // falls through to the message below
            }
        }
        throw new IllegalArgumentException("unknown device '" + text + "': use cpu, cuda or cuda:N (N >= 0)");
    }

    public boolean isCuda() {
        return type == Type.CUDA;
    }

    int typeCode() {
        return type == Type.CPU ? 0 : 1;
    }

    static Device ofCodes(int typeCode, int index) {
        return typeCode == 0 ? CPU : new Device(Type.CUDA, index);
    }

    @Override
    public String toString() {
        if (type == Type.CPU) return "cpu";
        return index < 0 ? "cuda" : "cuda:" + index;
    }
}
