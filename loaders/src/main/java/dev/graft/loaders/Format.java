package dev.graft.loaders;

/** The file formats {@link StateDicts} reads, told apart by content (never by extension). */
public enum Format {
    /** {@code torch.save} since PyTorch 1.6: a zip with {@code P/data.pkl}, {@code P/data/<key>}. */
    PTH_ZIP("pytorch zip"),
    /** {@code torch.save(..., _use_new_zipfile_serialization=False)}: pickles followed by raw storages. */
    PTH_LEGACY("pytorch legacy stream"),
    /** The oldest (pre-0.4) {@code torch.save}: a tar of sys_info, pickle, storages, tensors. */
    PTH_TAR("pytorch tar"),
    /** Hugging Face safetensors: u64 header length, JSON header, raw little-endian buffer. */
    SAFETENSORS("safetensors"),
    /** One NumPy array ({@code np.save}). */
    NPY("npy");

    private final String displayName;

    Format(String displayName) {
        this.displayName = displayName;
    }

    /** A short human name, for {@code graft inspect}. */
    public String displayName() {
        return displayName;
    }
}
