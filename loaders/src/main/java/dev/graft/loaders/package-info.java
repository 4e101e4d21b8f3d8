/**
 * Reading and writing state dicts: PyTorch {@code .pth} (zip, legacy stream and pre-0.4 tar, through a pickle
 * interpreter that only knows the data opcodes and an allowlist of torch globals, so nothing in a file ever
 * runs), safetensors and {@code .npy}. {@link dev.graft.loaders.StateDicts} is the entry point: it tells the
 * format from the content and returns an engine {@link dev.graft.engine.StateDict}; this module does not know
 * the models. Float16 and bfloat16 widen to float32 and integer types to int64, with the stored type kept in
 * {@link dev.graft.engine.HostTensor#sourceType()}. Bad content is a {@link dev.graft.loaders.FormatException}
 * naming the file, the byte offset and the reason. The {@code internal} packages are not API.
 */
package dev.graft.loaders;
