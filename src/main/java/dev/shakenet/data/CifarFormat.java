package dev.shakenet.data;

import java.net.URI;
import java.util.List;

/**
 * One CIFAR data set in its official binary layout: where its files are (the extracted folder,
 * the archive and its official address and MD5), how a record is laid out (label bytes, then
 * 3,072 pixel bytes) and which label byte is the class, its class names, and the per-channel
 * mean and standard deviation (0..255) its images are normalized with.
 */
public record CifarFormat(String name, String folder, String archive, URI url, String md5, List<String> trainFiles, String testFile,
                          int labelBytes, int labelIndex, List<String> classNames, Normalization normalization) {

    /** CIFAR-100's per-channel mean and std (0..255), over its 50,000 training images. */
    private static final Normalization CIFAR100_NORMALIZATION =
            new Normalization(new double[] {129.3, 124.1, 112.4}, new double[] {68.2, 65.4, 70.4});

    /** CIFAR-10: data_batch_1..5.bin and test_batch.bin, one label byte (0..9) a record. */
    public static final CifarFormat CIFAR10 = new CifarFormat("CIFAR-10", "cifar-10-batches-bin", "cifar-10-binary.tar.gz",
            URI.create("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"), "c32a1d4ab5d03f1284b67883e8d87530",
            List.of("data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"), "test_batch.bin",
            1, 0, List.of("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"), Normalization.CIFAR10);

    /** CIFAR-100's 100 fine classes: train.bin and test.bin, a coarse label byte then a fine one a record. */
    public static final CifarFormat CIFAR100 = cifar100(1, List.of(
            "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle", "bowl", "boy", "bridge", "bus",
            "butterfly", "camel", "can", "castle", "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch",
            "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo",
            "keyboard", "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse",
            "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree", "plain", "plate", "poppy",
            "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper",
            "snail", "snake", "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television",
            "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm"));

    /** CIFAR-100's 20 coarse classes (superclasses), from the same files. */
    public static final CifarFormat CIFAR100_COARSE = cifar100(0, List.of(
            "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables", "household_electrical_devices",
            "household_furniture", "insects", "large_carnivores", "large_man-made_outdoor_things", "large_natural_outdoor_scenes",
            "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals", "trees",
            "vehicles_1", "vehicles_2"));

    private static CifarFormat cifar100(int labelIndex, List<String> classNames) {
        return new CifarFormat(labelIndex == 1 ? "CIFAR-100" : "CIFAR-100 (coarse labels)", "cifar-100-binary", "cifar-100-binary.tar.gz",
                URI.create("https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"), "03b5dce01913d631647c71ecec9e9cb8",
                List.of("train.bin"), "test.bin", 2, labelIndex, classNames, CIFAR100_NORMALIZATION);
    }

    /** Bytes in one record: the label bytes and the pixels. */
    public int recordBytes() {
        return labelBytes + ImageSet.IMAGE_BYTES;
    }

    public int classes() {
        return classNames.size();
    }

    /** Every file of the set, the training files first. */
    public List<String> allFiles() {
        List<String> all = new java.util.ArrayList<>(trainFiles);
        all.add(testFile);
        return all;
    }

    /** Records in an official training file. */
    public int recordsPerTrainFile() {
        return 50_000 / trainFiles.size();
    }
}
