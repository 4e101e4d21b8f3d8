package dev.graft.loaders.images;

import dev.graft.loaders.images.ImageFolder.Sample;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * Decodes and transforms batches on worker threads with a bounded number of batches in flight. Every sample's
 * random augmentation draws from a generator seeded by (seed, epoch, position in the epoch), so the batches are
 * identical for a seed whatever the thread count. Images are read through an {@link ImagePipeline}. An unreadable
 * image is skipped with one warning naming the file and the reason, or fails the run when {@code strict}. With an
 * {@link ImageCache}, the epochs after the first take the decoded images from it and only transform them.
 */
public final class DataLoader implements AutoCloseable {

    /** Everything that shapes the batches; {@code decoding} sets the pixel limit and lenient reading. */
    public record Options(int batchSize, Sampling.Order order, long seed, int workers, int prefetch, boolean dropLast, boolean strict,
                          ImageDecoder.Options decoding) {
        public Options {
            if (batchSize < 1 || workers < 1 || prefetch < 1) {
                throw new DatasetException("batch size, workers and prefetch must be >= 1");
            }
            if (decoding == null) {
                throw new DatasetException("image decoding options are required");
            }
        }

        /** With the default decoding options ({@link ImageDecoder.Options#defaults()}). */
        public Options(int batchSize, Sampling.Order order, long seed, int workers, int prefetch, boolean dropLast, boolean strict) {
            this(batchSize, order, seed, workers, prefetch, dropLast, strict, ImageDecoder.Options.defaults());
        }
    }

    private final List<Sample> samples;
    private final int numClasses;
    private final ImagePipeline pipeline;
    private final Options options;
    private final Consumer<String> warnings;
    private final ExecutorService pool;
    private final Set<String> warned = ConcurrentHashMap.newKeySet();
    /** Warnings of images used as far as they decoded (--lenient), each given once. */
    private final Set<String> lenientWarned = ConcurrentHashMap.newKeySet();

    public DataLoader(List<Sample> samples, int numClasses, Transform transform, Options options, Consumer<String> warnings) {
        this(samples, numClasses, transform, options, warnings, null);
    }

    /** As above, reading images through {@code cache} (null: decode every image every epoch). */
    public DataLoader(List<Sample> samples, int numClasses, Transform transform, Options options, Consumer<String> warnings,
                      ImageCache cache) {
        if (samples.isEmpty()) {
            throw new DatasetException("no images to load");
        }
        this.samples = List.copyOf(samples);
        this.numClasses = numClasses;
        this.options = options;
        this.warnings = warnings;
        this.pipeline = new ImagePipeline(transform, options.decoding(), this::warnOnce, cache);
        this.pool = Executors.newFixedThreadPool(options.workers(), r -> {
            Thread t = new Thread(r, "graft-decode");
            t.setDaemon(true);
            return t;
        });
    }

    public int size() {
        return samples.size();
    }

    public List<Sample> samples() {
        return samples;
    }

    public int batchesPerEpoch() {
        int n = samples.size();
        return options.dropLast() ? n / options.batchSize() : (n + options.batchSize() - 1) / options.batchSize();
    }

    /** The batches of one epoch, decoded ahead on the worker threads. */
    public Iterator<Batch> epoch(int epoch) {
        int[] order = Sampling.epochOrder(options.order(), samples, numClasses, options.seed(), epoch);
        List<int[]> positions = new ArrayList<>();
        for (int start = 0; start < order.length; start += options.batchSize()) {
            int end = Math.min(order.length, start + options.batchSize());
            if (end - start < options.batchSize() && options.dropLast()) {
                break;
            }
            int[] p = new int[end - start];
            for (int i = 0; i < p.length; i++) {
                p[i] = start + i;
            }
            positions.add(p);
        }
        return new Iterator<>() {
            private final ArrayDeque<Future<Batch>> window = new ArrayDeque<>();
            private int submitted;
            private Batch next;

            private void fill() {
                while (window.size() < options.prefetch() && submitted < positions.size()) {
                    int[] pos = positions.get(submitted++);
                    window.add(pool.submit(() -> load(order, pos, epoch)));
                }
            }

            @Override
            public boolean hasNext() {
                while (next == null) {
                    fill();
                    Future<Batch> f = window.poll();
                    if (f == null) {
                        return false;
                    }
                    Batch b = await(f);
                    if (b.size() > 0) {
                        next = b;
                    }
                }
                return true;
            }

            @Override
            public Batch next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                Batch b = next;
                next = null;
                return b;
            }
        };
    }

    private static Batch await(Future<Batch> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DatasetException("interrupted while loading images", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new DatasetException("loading images failed: " + e.getCause(), e.getCause());
        }
    }

    private Batch load(int[] order, int[] positions, int epoch) {
        List<FloatImage> images = new ArrayList<>();
        List<Integer> kept = new ArrayList<>();
        for (int p : positions) {
            Sample s = samples.get(order[p]);
            try {
                SplittableRandom rng = new SplittableRandom(Seeds.mix(options.seed(), epoch, p));
                images.add(pipeline.load(s.path(), rng));
                kept.add(order[p]);
            } catch (DatasetException e) {
                if (options.strict()) {
                    throw e;
                }
                if (warned.add(s.path().toString())) {
                    warnings.accept("skipping " + e.getMessage() + " (use --strict to fail instead)");
                }
            }
        }
        if (images.isEmpty()) {
            return new Batch(new float[0], new int[0], new int[0], 0, 0, 0);
        }
        FloatImage first = images.get(0);
        int per = first.data().length;
        float[] data = new float[per * images.size()];
        int[] labels = new int[images.size()];
        int[] indices = new int[images.size()];
        for (int i = 0; i < images.size(); i++) {
            FloatImage img = images.get(i);
            if (img.channels() != first.channels() || img.height() != first.height() || img.width() != first.width()) {
                throw new DatasetException("transformed images differ in size (" + first.height() + "x" + first.width() + " and "
                        + img.height() + "x" + img.width() + "); the pipeline must end in a fixed size crop");
            }
            System.arraycopy(img.data(), 0, data, i * per, per);
            indices[i] = kept.get(i);
            labels[i] = samples.get(indices[i]).label();
        }
        return new Batch(data, labels, indices, first.channels(), first.height(), first.width());
    }

    /** The files skipped so far because they could not be read (none when strict: those fail instead). */
    public Set<String> skipped() {
        return Set.copyOf(warned);
    }

    /** A lenient read's warning, once per run rather than once per epoch. */
    private void warnOnce(String warning) {
        if (lenientWarned.add(warning)) {
            warnings.accept(warning);
        }
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
