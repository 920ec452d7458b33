package azul.facets;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReader;

/**
 * What Azul's aggregations keep per segment (term bitmaps, per-document
 * values), by the segment's core and a key, until the segment closes.
 * Segments never change, so nothing kept goes stale.
 *
 * <p>Everything kept, of all segments and kinds, holds at most an eighth of
 * the heap. What would not fit is not kept: the aggregation then reads the
 * segment, or uses what it built for the one request.
 */
final class SegmentCache {

    /** Something kept, and about the bytes of heap it takes. */
    interface Kept {
        long bytes();
    }

    private static final Map<IndexReader.CacheKey, Map<String, Kept>> CACHE = new ConcurrentHashMap<>();

    private static final long BUDGET = Runtime.getRuntime().maxMemory() / 8;
    private static final AtomicLong HELD = new AtomicLong();

    private SegmentCache() {
    }

    /** What is kept for the segment under the key, or null. */
    private static Kept get(LeafReader reader, String key) {
        IndexReader.CacheHelper helper = reader.getCoreCacheHelper();
        if (helper == null) {
            return null;
        }
        Map<String, Kept> kept = CACHE.get(helper.getKey());
        return kept == null ? null : kept.get(key);
    }

    /** Whether the segment can be kept at all (it has a core that announces its closing). */
    static boolean cacheable(LeafReader reader) {
        return reader.getCoreCacheHelper() != null;
    }

    /** About the bytes something would take, worked out before it is built. */
    interface Estimate {
        long bytes() throws IOException;
    }

    /** Builds what is kept, given its estimated bytes. */
    interface Builder<T extends Kept> {
        T build(long estimate) throws IOException;
    }

    /**
     * What is kept for the segment under the key. If nothing is, it is built
     * and kept where its estimated bytes fit (held as the bytes it takes once
     * built); where they do not, {@code refused} is kept in its place, so that
     * the next request does not estimate again. The segment must be
     * {@link #cacheable}.
     */
    static <T extends Kept> T get(LeafReader reader, String key, Estimate estimated, Builder<T> builder,
                                  T refused) throws IOException {
        @SuppressWarnings("unchecked")
        T kept = (T) get(reader, key);
        if (kept != null) {
            return kept;
        }
        long estimate = estimated.bytes();
        T value;
        if (reserve(estimate)) {
            try {
                value = builder.build(estimate);
            } catch (IOException | RuntimeException e) {
                release(estimate);
                throw e;
            }
            HELD.addAndGet(value.bytes() - estimate);
        } else {
            value = refused;
            // Released with the rest when the segment closes
            HELD.addAndGet(refused.bytes());
        }
        return keep(reader, key, value);
    }

    /** Whether that many more bytes fit; if they do, they are held until {@link #release}d or kept. */
    private static boolean reserve(long bytes) {
        if (HELD.addAndGet(bytes) > BUDGET) {
            HELD.addAndGet(-bytes);
            return false;
        }
        return true;
    }

    private static void release(long bytes) {
        HELD.addAndGet(-bytes);
    }

    /**
     * Keeps {@code value}, whose bytes are reserved, for the segment under the
     * key, and returns it, or what another request kept there first (the
     * reservation of {@code value} then released).
     */
    @SuppressWarnings("unchecked")
    private static <T extends Kept> T keep(LeafReader reader, String key, T value) {
        IndexReader.CacheHelper helper = reader.getCoreCacheHelper();
        Map<String, Kept> kept = CACHE.get(helper.getKey());
        if (kept == null) {
            kept = new ConcurrentHashMap<>();
            Map<String, Kept> raced = CACHE.putIfAbsent(helper.getKey(), kept);
            if (raced == null) {
                helper.addClosedListener(SegmentCache::closed);
            } else {
                kept = raced;
            }
        }
        Kept raced = kept.putIfAbsent(key, value);
        if (raced != null) {
            release(value.bytes());
            return (T) raced;
        }
        return value;
    }

    private static void closed(IndexReader.CacheKey key) {
        Map<String, Kept> kept = CACHE.remove(key);
        if (kept != null) {
            for (Kept value : kept.values()) {
                release(value.bytes());
            }
        }
    }
}
