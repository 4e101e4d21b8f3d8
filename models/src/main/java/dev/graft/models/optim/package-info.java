/**
 * Optimizers with PyTorch's exact update rules on the backends' fused kernels ({@link dev.graft.models.optim.Sgd},
 * {@link dev.graft.models.optim.AdamW}), parameter groups ({@link dev.graft.models.optim.ParamGroups}), state
 * export and import for checkpoints, and gradient clipping ({@link dev.graft.models.optim.GradClip}). Only
 * trainable parameters are updated; frozen ones get no update, no decay and no state.
 */
package dev.graft.models.optim;
