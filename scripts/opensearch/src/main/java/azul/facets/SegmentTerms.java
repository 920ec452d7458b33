package azul.facets;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.apache.lucene.index.DocValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.PostingsEnum;
import org.apache.lucene.index.SortedSetDocValues;
import org.apache.lucene.index.Terms;
import org.apache.lucene.index.TermsEnum;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.util.BytesRef;
import org.apache.lucene.util.FixedBitSet;
import org.apache.lucene.util.StringHelper;

/**
 * The documents of every term of a field in one segment, kept while the
 * segment is open: a term's count among the matching documents is then the
 * size of an intersection, where a {@code terms} aggregation reads every
 * matching document's terms (at a million Azul documents, ~35 each: ~150 ms
 * for a filter passing a third of them, on one thread).
 *
 * <p>A term with more documents than the segment has 64-bit words is a bit
 * set (its count one pass over the words of two sets), any other a sorted
 * array of its documents (its count a probe of each). Segments never change,
 * so the sets never go stale; their deleted documents never match. Where the
 * matching documents are few, reading their terms costs less, and is done.
 *
 * <p>The bitmaps are kept in the {@link SegmentCache} (about 60 MB for a
 * million Azul documents' {@code facet_terms}); a segment whose bitmaps would
 * not fit there is counted by reading, until it closes.
 */
final class SegmentTerms implements SegmentCache.Kept {

    /** How a segment's terms are counted. */
    enum Method {
        AUTO, BITMAPS, READ;

        static Method parse(String text) {
            for (Method method : values()) {
                if (method.toString().equals(text)) {
                    return method;
                }
            }
            throw new IllegalArgumentException("[method] is one of [auto, bitmaps, read], not [" + text + "]");
        }

        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    // Kept where the bitmaps would not fit, so that they are not estimated again
    private static final SegmentTerms REFUSED = new SegmentTerms(null, null, null, 0, 0, 0);

    // What one document's terms cost to read, in probes of a bit set
    private static final int READ_COST = 4;

    private final BytesRef[] terms;
    private final int[][] sparse;
    private final FixedBitSet[] dense;
    // Probes and words that intersecting every term takes
    private final long cost;
    // Terms per document that has any
    private final double density;
    // Of the heap, about
    private final long bytes;

    @Override
    public long bytes() {
        return bytes;
    }

    private SegmentTerms(BytesRef[] terms, int[][] sparse, FixedBitSet[] dense, long cost, double density,
                         long bytes) {
        this.terms = terms;
        this.sparse = sparse;
        this.dense = dense;
        this.cost = cost;
        this.density = density;
        this.bytes = bytes;
    }

    /** Adds the counts of the field's terms starting with {@code prefix} among {@code matched} to {@code counts}. */
    static void count(LeafReader reader, String field, String prefix, Method method, FixedBitSet matched,
                      int n, Map<BytesRef, Long> counts) throws IOException {
        SegmentTerms segment = !SegmentCache.cacheable(reader) || method == Method.READ ? null : of(reader, field);
        if (segment == null || segment == REFUSED
            || method == Method.AUTO && n * segment.density * READ_COST < segment.cost) {
            read(reader, field, new BytesRef(prefix), matched, counts);
        } else {
            segment.intersect(new BytesRef(prefix), matched, counts);
        }
    }

    private static SegmentTerms of(LeafReader reader, String field) throws IOException {
        return SegmentCache.get(reader, "terms:" + field, () -> estimate(reader, field),
                                bytes -> build(reader, field, bytes), REFUSED);
    }

    /** The bytes the field's bitmaps take in the segment, from the terms' document counts. */
    private static long estimate(LeafReader reader, String field) throws IOException {
        int words = FixedBitSet.bits2words(reader.maxDoc());
        Terms indexed = reader.terms(field);
        long bytes = 0;
        if (indexed != null) {
            TermsEnum iterator = indexed.iterator();
            for (BytesRef term = iterator.next(); term != null; term = iterator.next()) {
                int frequency = iterator.docFreq();
                // And the term itself, its array and the objects' headers
                bytes += (dense(frequency, words) ? (long) words * Long.BYTES : (long) frequency * Integer.BYTES)
                         + term.length + 64;
            }
        }
        return bytes;
    }

    /** Whether a term of that many documents is a bit set: its intersection then costs fewer steps. */
    private static boolean dense(int frequency, int words) {
        return frequency > words;
    }

    private static SegmentTerms build(LeafReader reader, String field, long bytes) throws IOException {
        int maxDoc = reader.maxDoc();
        int words = FixedBitSet.bits2words(maxDoc);
        List<BytesRef> terms = new ArrayList<>();
        List<int[]> sparse = new ArrayList<>();
        List<FixedBitSet> dense = new ArrayList<>();
        long cost = 0;
        long postings = 0;
        Terms indexed = reader.terms(field);
        if (indexed != null) {
            TermsEnum iterator = indexed.iterator();
            PostingsEnum docs = null;
            for (BytesRef term = iterator.next(); term != null; term = iterator.next()) {
                int frequency = iterator.docFreq();
                docs = iterator.postings(docs, PostingsEnum.NONE);
                terms.add(BytesRef.deepCopyOf(term));
                if (dense(frequency, words)) {
                    FixedBitSet set = new FixedBitSet(maxDoc);
                    for (int doc = docs.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = docs.nextDoc()) {
                        set.set(doc);
                    }
                    sparse.add(null);
                    dense.add(set);
                    cost += words;
                } else {
                    int[] array = new int[frequency];
                    int i = 0;
                    for (int doc = docs.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = docs.nextDoc()) {
                        array[i++] = doc;
                    }
                    sparse.add(i == frequency ? array : Arrays.copyOf(array, i));
                    dense.add(null);
                    cost += frequency;
                }
                postings += frequency;
            }
        }
        int withTerms = indexed == null ? 0 : indexed.getDocCount();
        return new SegmentTerms(terms.toArray(new BytesRef[0]), sparse.toArray(new int[0][]),
                                dense.toArray(new FixedBitSet[0]), cost,
                                withTerms == 0 ? 0 : (double) postings / withTerms, bytes);
    }

    private void intersect(BytesRef prefix, FixedBitSet matched, Map<BytesRef, Long> counts) {
        long[] bits = matched.getBits();
        for (int i = 0; i < terms.length; i++) {
            if (!StringHelper.startsWith(terms[i], prefix)) {
                continue;
            }
            long count;
            if (dense[i] != null) {
                count = FixedBitSet.intersectionCount(matched, dense[i]);
            } else {
                count = 0;
                // Without a branch: whether a document matches is as good as
                // random, and mispredicted branches took two thirds of a
                // one-filter page's counting at a million documents
                for (int doc : sparse[i]) {
                    count += (bits[doc >> 6] >>> doc) & 1L;
                }
            }
            if (count > 0) {
                counts.merge(terms[i], count, Long::sum);
            }
        }
    }

    /** The counts from each matching document's terms, as a {@code terms} aggregation counts. */
    private static void read(LeafReader reader, String field, BytesRef prefix, FixedBitSet matched,
                             Map<BytesRef, Long> counts) throws IOException {
        SortedSetDocValues values = DocValues.getSortedSet(reader, field);
        long[] byOrd = new long[(int) values.getValueCount()];
        int length = matched.length();
        for (int doc = matched.nextSetBit(0); doc != DocIdSetIterator.NO_MORE_DOCS;
             doc = doc + 1 < length ? matched.nextSetBit(doc + 1) : DocIdSetIterator.NO_MORE_DOCS) {
            if (values.advanceExact(doc)) {
                for (int i = 0, k = values.docValueCount(); i < k; i++) {
                    byOrd[(int) values.nextOrd()]++;
                }
            }
        }
        for (int ord = 0; ord < byOrd.length; ord++) {
            if (byOrd[ord] > 0) {
                BytesRef term = values.lookupOrd(ord);
                if (StringHelper.startsWith(term, prefix)) {
                    counts.merge(BytesRef.deepCopyOf(term), byOrd[ord], Long::sum);
                }
            }
        }
    }
}
