/**
 * Embedded inference: {@link dev.graft.runtime.Classifier} loads a trained model file and classifies images;
 * {@link dev.graft.runtime.Main} is the same as a command. Depends on the engine, models and loaders only (and
 * jackson-core through the safetensors reader): no training, command-line, plotting or report libraries.
 */
package dev.graft.runtime;
