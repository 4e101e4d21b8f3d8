package dev.graft.loaders.internal;

import dev.graft.loaders.Format;
import dev.graft.loaders.LoadOptions;
import dev.graft.loaders.internal.pth.PthLegacyReader;
import dev.graft.loaders.internal.pth.PthTarReader;
import dev.graft.loaders.internal.pth.PthZipReader;
import dev.graft.loaders.internal.pth.StateDictSelector;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Tells formats apart by their first bytes and hands the file to the matching reader. */
public final class Readers {
    private Readers() {
    }

    public static Format detect(Source src) {
        byte[] head = src.read(0, Math.min(src.size(), 512), "file start");
        // safetensors first: its header is free text, so a written file may carry another format's magic (a header
        // of 67,324,752 bytes starts "PK\3\4"; "ustar" may sit at byte 257); no other format has '{' at byte 8
        // after a little-endian length that fits the file and the 100 MB header limit
        if (head.length >= 9 && head[8] == '{') {
            long n = ByteBuffer.wrap(head, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (n >= 2 && n <= SafeTensorsReader.MAX_HEADER && n <= src.size() - 8) {
                return Format.SAFETENSORS;
            }
        }
        if (head.length >= 4 && head[0] == 'P' && head[1] == 'K' && ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6))) {
            return Format.PTH_ZIP;
        }
        if (NpyFormat.looksLike(head)) {
            return Format.NPY;
        }
        if (head.length >= 262 && new String(head, 257, 5, StandardCharsets.US_ASCII).equals("ustar")) {
            return Format.PTH_TAR;
        }
        if (PthLegacyReader.looksLike(head)) {
            return Format.PTH_LEGACY;
        }
        StringBuilder hex = new StringBuilder();
        for (int i = 0; i < Math.min(head.length, 16); i++) {
            hex.append(String.format("%02x", head[i] & 0xFF));
        }
        throw src.error(0, "unrecognized format (first bytes " + hex + "); expected a PyTorch .pth (zip, legacy or"
                + " tar), safetensors or .npy file");
    }

    /** @param stem the name a single-tensor file's tensor gets (the file name without extension) */
    public static Contents open(Source src, LoadOptions options, String stem) {
        Format format = detect(src);
        return switch (format) {
            case PTH_ZIP -> StateDictSelector.select(src, format, PthZipReader.read(src, ZipArchive.read(src)), options.keyPath(), stem);
            case PTH_LEGACY -> StateDictSelector.select(src, format, PthLegacyReader.read(src), options.keyPath(), stem);
            case PTH_TAR -> StateDictSelector.select(src, format, PthTarReader.read(src), options.keyPath(), stem);
            case SAFETENSORS -> noKeyPath(src, options, SafeTensorsReader.read(src));
            case NPY -> noKeyPath(src, options, NpyFormat.read(src, stem));
        };
    }

    private static Contents noKeyPath(Source src, LoadOptions options, Contents c) {
        if (!options.keyPath().isEmpty()) {
            throw src.error(-1, "a key path (" + String.join("/", options.keyPath()) + ") applies only to .pth checkpoints, not "
                    + c.format().displayName());
        }
        return c;
    }
}
