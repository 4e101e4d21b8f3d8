/**
 * torchvision-compatible models for transfer learning.
 *
 * <p>{@link dev.graft.models.Module} and {@link dev.graft.models.Parameter} mirror {@code torch.nn}: keys,
 * order and shapes of {@link dev.graft.models.Module#stateDict()} equal torchvision's, buffers included.
 * {@link dev.graft.models.ResNet} builds the ResNet family ({@link dev.graft.models.ResNetConfig}), loads
 * state dicts with a {@link dev.graft.models.LoadReport}, infers its architecture from keys and shapes
 * ({@link dev.graft.models.ArchitectureInference}), swaps its head and adapts to grayscale input.
 *
 * <p>The two-phase recipe:
 * <pre>{@code
 * try (ResNet model = ResNet.fromStateDict(torchvisionWeights, device)) {
 *     model.replaceHead(2).setBatchNormPolicy(BatchNormPolicy.HOLD);
 *     model.freeze().unfreeze("fc");                  // phase 1: head only
 *     try (Sgd sgd = Sgd.builder(1e-2).momentum(0.9).build(ParamGroups.all(model))) {
 *         model.train();
 *         // per batch: try (Scope step = Scope.open()) { loss.backward(); sgd.step(); sgd.zeroGrad(); }
 *         model.unfreeze();                           // phase 2: everything, same optimizer
 *     }
 * }
 * }</pre>
 *
 * <p>Freezing sets per-parameter flags read by graph recording and by the optimizers only; frozen batch norm
 * follows an explicit {@link dev.graft.models.BatchNormPolicy} saved in the model's metadata.
 */
package dev.graft.models;
