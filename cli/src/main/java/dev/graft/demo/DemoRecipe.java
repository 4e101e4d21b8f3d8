package dev.graft.demo;

/**
 * The demo's fixed settings, shared by {@code graft demo} and {@code graft demo --remake}. The task holds out
 * two Fashion-MNIST classes that are easy to confuse, T-shirt/top and Shirt, with few labels and a 3:1
 * imbalance (Shirt is the positive, majority class, as Pneumonia is in chest X-ray sets); the pretrained
 * network has seen only the other eight classes.
 */
final class DemoRecipe {
    private DemoRecipe() {
    }

    /** A narrow ResNet-10 (one BasicBlock per stage, widths 16-128): 0.31 M parameters, 32x32 inputs. */
    static final String ARCH = "block=basic layers=1,1,1,1 groups=1 width_per_group=64 stem=16 planes=16,32,64,128 classes=8 in_channels=3";
    static final int IMAGE_SIZE = 32;

    /** Source classes for pretraining (all but T-shirt/top = 0 and Shirt = 6). */
    static final int[] PRETRAIN_CLASSES = {1, 2, 3, 4, 5, 7, 8, 9};
    static final int PRETRAIN_PER_CLASS = 1000;
    static final int PRETRAIN_VAL_PER_CLASS = 100;

    static final int[] TASK_CLASSES = {0, 6};
    static final String[] TASK_NAMES = {"tshirt_top", "shirt"};
    static final String POSITIVE = "shirt";
    static final int[] TASK_TRAIN = {30, 90};
    static final int[] TASK_VAL = {100, 100};
    static final int[] TASK_TEST = {500, 500};

    static final int BATCH = 8;
    static final int HEAD_EPOCHS = 3;
    static final int FINETUNE_EPOCHS = 6;
    /** Source and target domains are close (all Fashion-MNIST), so phase 2 spreads rates less than fastai's 100. */
    static final double LR_MULT = 10;
}
