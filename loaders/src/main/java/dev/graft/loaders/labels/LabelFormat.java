package dev.graft.loaders.labels;

/** The layout of a label CSV ({@code --label-format}); AUTO tells them apart by the header (see {@link CsvLabels}). */
public enum LabelFormat { AUTO, CHEXPERT, NIH, MIMIC, GENERIC }
