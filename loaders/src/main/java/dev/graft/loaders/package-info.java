/**
 * Reading and writing state dicts: PyTorch {@code .pth} (zip, legacy stream and pre-0.4 tar, through a pickle
 * interpreter that only knows the data opcodes and an allowlist of torch globals, so nothing in a file ever
 * runs), safetensors and {@code .npy}. {@link dev.graft.loaders.StateDicts} is the entry point: it tells the
 * format from the content and returns an engine {@link dev.graft.engine.StateDict}; this module does not know
 * the models. Float16 and bfloat16 widen to float32 and integer types to int64, with the stored type kept in
 * {@link dev.graft.engine.HostTensor#sourceType()}. Bad content is a {@link dev.graft.loaders.FormatException}
 * naming the file, the byte offset and the reason. Before any tensor data is read, a load is checked against a
 * heap budget ({@link dev.graft.loaders.LoadLimits}, {@link dev.graft.loaders.LoadLimitException}); safetensors
 * files Graft writes record a SHA-256 per tensor that every load checks
 * ({@link dev.graft.loaders.SafeTensors}, {@link dev.graft.loaders.IntegrityException}). The {@code internal}
 * packages are not API.
 */
package dev.graft.loaders;
