package azul.facets;

import java.io.IOException;
import java.util.Map;

import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.PostingsEnum;
import org.apache.lucene.index.Term;
import org.apache.lucene.internal.hppc.LongHashSet;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.util.ArrayUtil;
import org.apache.lucene.util.BytesRef;
import org.apache.lucene.util.FixedBitSet;

/**
 * A {@code terms} part of a summary in one segment: per value of the field
 * among the matching documents, their number, the sums of other fields and
 * the distinct values of others, added to the part's figure.
 */
final class TermsPart {

    // Pairs of a value and a distinct value are bits of a set of all pairs of
    // the two fields' ordinals, if that set is no larger (a million projects'
    // titles and ids would take 125 GB); else hashed
    private static final long MAX_PAIR_BITS = 1L << 26;

    private final SummaryPart part;
    private final Column column;
    private final Ids ids;
    private final Column[] summed;
    private final Column[] distinct;
    private final Ids[] distinctIds;
    private final LongHashSet[] pairs;
    private final FixedBitSet[] pairBits;
    private final long[] distinctCounts;
    private long[] counts = new long[16];
    // Per summed field, per id: the sum and its compensation (see InternalSummary.Sum),
    // in arrays rather than objects: a third of the part's time at a million documents
    private final double[][] sums;
    private final double[][] compensations;

    TermsPart(LeafReader reader, SummaryPart part, Column column, Map<String, Column> columns) throws IOException {
        this.part = part;
        this.column = column;
        ids = Ids.of(reader, part.field, column.kind, part.include);
        summed = new Column[part.sums.size()];
        sums = new double[summed.length][16];
        compensations = new double[summed.length][16];
        for (int j = 0; j < summed.length; j++) {
            summed[j] = columns.get(part.sums.get(j));
        }
        distinct = new Column[part.distinct.size()];
        distinctIds = new Ids[distinct.length];
        pairs = new LongHashSet[distinct.length];
        pairBits = new FixedBitSet[distinct.length];
        distinctCounts = new long[distinct.length];
        for (int j = 0; j < distinct.length; j++) {
            distinct[j] = columns.get(part.distinct.get(j));
            if (distinct[j] != null) {
                distinctIds[j] = Ids.of(reader, part.distinct.get(j), distinct[j].kind, null);
                long bits = (long) ids.capacity() * distinctIds[j].capacity();
                if (bits > 0 && bits <= MAX_PAIR_BITS) {
                    pairBits[j] = new FixedBitSet((int) bits);
                    distinctCounts[j] = distinctIds[j].capacity();
                } else {
                    pairs[j] = new LongHashSet();
                }
            }
        }
    }

    /** Adds the matching documents ({@code docs}, also as a {@code list}), and returns this. */
    TermsPart add(LeafReader reader, FixedBitSet docs, int[] list) throws IOException {
        if (part.include != null && column.kind == Column.Kind.KEYWORD) {
            // Few documents have any of a few terms: those are read from the
            // terms' postings, not by reading every matching document's values
            // (at a million documents, 0.2 instead of 8 ms for a null term)
            for (String term : part.include) {
                PostingsEnum postings = reader.postings(new Term(part.field, new BytesRef(term)), PostingsEnum.NONE);
                long ord = postings == null ? -1 : ids.ord(term);
                if (ord < 0) {
                    continue;
                }
                // The postings hold deleted documents too; they never match
                for (int doc = postings.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = postings.nextDoc()) {
                    if (docs.get(doc)) {
                        add(doc, ids.id(ord), ord);
                    }
                }
            }
            return this;
        }
        for (int doc : list) {
            for (int i = column.from(doc), to = column.to(doc); i < to; i++) {
                long value = column.value(i);
                // A document counts once per value, however often it repeats it
                if (i > column.from(doc) && value == column.value(i - 1)) {
                    continue;
                }
                int id = ids.id(value);
                if (id != Ids.EXCLUDED) {
                    add(doc, id, value);
                }
            }
        }
        return this;
    }

    private void add(int doc, int id, long value) {
        if (id >= counts.length) {
            counts = ArrayUtil.grow(counts, id + 1);
        }
        counts[id]++;
        for (int j = 0; j < summed.length; j++) {
            Column c = summed[j];
            if (c != null) {
                double sum = c.sum(doc);
                if (id >= sums[j].length) {
                    sums[j] = ArrayUtil.grow(sums[j], id + 1);
                    compensations[j] = ArrayUtil.growExact(compensations[j], sums[j].length);
                }
                InternalSummary.Sum.add(sums[j], compensations[j], id, sum);
            }
        }
        for (int j = 0; j < distinct.length; j++) {
            Column c = distinct[j];
            if (c == null) {
                continue;
            }
            for (int k = c.from(doc), end = c.to(doc); k < end; k++) {
                if (pairBits[j] != null) {
                    // By ordinals, so that the bit's index fits
                    pairBits[j].set((int) (value * distinctCounts[j] + c.value(k)));
                } else {
                    pairs[j].add((long) id << 32 | distinctIds[j].id(c.value(k)));
                }
            }
        }
    }

    /** Adds what the segment's documents have to the part's figure. */
    void addTo(InternalSummary.Figure figure) throws IOException {
        Object[] keys = ids.keys();
        InternalSummary.Bucket[] buckets = new InternalSummary.Bucket[keys.length];
        for (int id = 0; id < keys.length; id++) {
            // Every id was given to a value of a matching document
            assert counts[id] > 0;
            buckets[id] = figure.bucket(keys[id]);
            buckets[id].count += counts[id];
            for (int j = 0; j < summed.length; j++) {
                if (summed[j] != null) {
                    buckets[id].sums[j].add(sums[j][id]);
                }
            }
        }
        for (int j = 0; j < distinct.length; j++) {
            if (pairBits[j] != null) {
                FixedBitSet bits = pairBits[j];
                long n = distinctCounts[j];
                int length = bits.length();
                // Ids for the distinct values in the order of their ordinals,
                // in which their terms are looked up fastest
                for (int bit = bits.nextSetBit(0); bit != DocIdSetIterator.NO_MORE_DOCS;
                     bit = bit + 1 < length ? bits.nextSetBit(bit + 1) : DocIdSetIterator.NO_MORE_DOCS) {
                    distinctIds[j].id(bit % n);
                }
                Object[] values = distinctIds[j].keys();
                for (int bit = bits.nextSetBit(0); bit != DocIdSetIterator.NO_MORE_DOCS;
                     bit = bit + 1 < length ? bits.nextSetBit(bit + 1) : DocIdSetIterator.NO_MORE_DOCS) {
                    buckets[ids.id(bit / n)].distinct.get(j).add(values[distinctIds[j].id(bit % n)]);
                }
            } else if (pairs[j] != null) {
                Object[] values = distinctIds[j].keys();
                for (long pair : pairs[j].toArray()) {
                    buckets[(int) (pair >>> 32)].distinct.get(j).add(values[(int) pair]);
                }
            }
        }
    }
}
