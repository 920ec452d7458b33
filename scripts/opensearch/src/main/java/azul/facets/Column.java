package azul.facets;

import java.io.IOException;
import java.util.Arrays;

import org.apache.lucene.index.DocValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.PointValues;
import org.apache.lucene.index.SortedDocValues;
import org.apache.lucene.index.SortedNumericDocValues;
import org.apache.lucene.index.SortedSetDocValues;
import org.apache.lucene.index.Terms;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.util.ArrayUtil;
import org.apache.lucene.util.FixedBitSet;
import org.apache.lucene.util.NumericUtils;

/**
 * The doc values of one field for every document of a segment, as plain
 * arrays: a summary then reads each matching document's values from memory,
 * where OpenSearch's aggregations decode them from the doc values, once per
 * aggregation (at a million Azul documents, a {@code terms} aggregation with
 * a {@code sum} took 8 to 27 ms for a filter passing a third of them).
 *
 * <p>A keyword field's values are its segment ordinals, a number field's the
 * longs its doc values hold (a double's sortable bits, a boolean's 0 or 1);
 * a document's values are in ascending order, as doc values give them.
 * Kept in the {@link SegmentCache}; where a column would not fit, one of the
 * matching documents only is read for the one request.
 */
final class Column implements SegmentCache.Kept {

    /** How a field's values are read and shown. */
    enum Kind {
        KEYWORD, LONG, DOUBLE;

        /** The kind of a field of that mapping type, or null if a summary cannot read it. */
        static Kind of(String type) {
            switch (type) {
                case "keyword":
                    return KEYWORD;
                case "long":
                case "integer":
                case "short":
                case "byte":
                case "boolean":
                    return LONG;
                case "double":
                    return DOUBLE;
                default:
                    return null;
            }
        }
    }

    private static final Column REFUSED = new Column(Kind.KEYWORD, null, null, new int[0], null);

    final Kind kind;
    // Where each document's values start (and the next one's); null if every
    // document has at most one, values[doc] or ords[doc]
    private final int[] starts;
    // A number field's values
    private final long[] values;
    // A keyword field's ordinals, half the bytes of longs to read; without
    // starts, -1 for a document without one
    private final int[] ords;
    // A number field's documents that have a value, without starts; null if all do
    private final FixedBitSet present;

    // A number field's values summed per document, 0 for none: what sums
    // read, one array element per document (at a million documents, reading
    // a document's values took a third of a filtered summary's time)
    private final double[] sums;

    private Column(Kind kind, int[] starts, long[] values, int[] ords, FixedBitSet present) {
        this.kind = kind;
        this.starts = starts;
        this.values = values;
        this.ords = ords;
        this.present = present;
        if (kind == Kind.KEYWORD) {
            sums = null;
        } else {
            int maxDoc = starts == null ? values.length : starts.length - 1;
            sums = new double[maxDoc];
            for (int doc = 0; doc < maxDoc; doc++) {
                double sum = 0;
                for (int i = from(doc), to = to(doc); i < to; i++) {
                    sum += number(i);
                }
                sums[doc] = sum;
            }
        }
    }

    @Override
    public long bytes() {
        return (values == null ? 0 : (long) values.length * Long.BYTES)
               + (ords == null ? 0 : (long) ords.length * Integer.BYTES)
               + (sums == null ? 0 : (long) sums.length * Double.BYTES)
               + (starts == null ? 0 : (long) starts.length * Integer.BYTES)
               + (present == null ? 0 : (long) present.getBits().length * Long.BYTES) + 64;
    }

    /** The first of the document's values. */
    int from(int doc) {
        return starts == null ? doc : starts[doc];
    }

    /** After the last of the document's values. */
    int to(int doc) {
        if (starts != null) {
            return starts[doc + 1];
        } else if (ords != null) {
            return ords[doc] >= 0 ? doc + 1 : doc;
        }
        return present == null || present.get(doc) ? doc + 1 : doc;
    }

    long value(int i) {
        return ords != null ? ords[i] : values[i];
    }

    /** The sum of a document's values, of a number field. */
    double sum(int doc) {
        return sums[doc];
    }

    /** The value as a number, for sums. */
    double number(int i) {
        return kind == Kind.DOUBLE ? NumericUtils.sortableLongToDouble(values[i]) : values[i];
    }

    /**
     * The field's column in the segment: the kept one, or one built and kept,
     * or, where it would not fit, one of the {@code matched} documents only.
     */
    static Column of(LeafReader reader, String field, Kind kind, FixedBitSet matched) throws IOException {
        if (!SegmentCache.cacheable(reader)) {
            return read(reader, field, kind, matched);
        }
        Column column = SegmentCache.get(reader, "column:" + field, () -> estimate(reader, field, kind),
                                         estimate -> read(reader, field, kind, null), REFUSED);
        return column == REFUSED ? read(reader, field, kind, matched) : column;
    }

    /** About the bytes of the field's column, from the index's statistics of its values. */
    private static long estimate(LeafReader reader, String field, Kind kind) throws IOException {
        int maxDoc = reader.maxDoc();
        long count = maxDoc;
        if (kind == Kind.KEYWORD) {
            Terms terms = reader.terms(field);
            if (terms != null) {
                count = Math.max(count, terms.getSumDocFreq());
            }
        } else {
            PointValues points = reader.getPointValues(field);
            if (points != null) {
                count = Math.max(count, points.size());
            }
        }
        return count * (kind == Kind.KEYWORD ? Integer.BYTES : Long.BYTES) + (long) (maxDoc + 1) * Integer.BYTES
               + (kind == Kind.KEYWORD ? 0 : (long) maxDoc * Double.BYTES) + 64;
    }

    /** The field's values of the documents {@code only} has, or of all documents if it is null. */
    static Column read(LeafReader reader, String field, Kind kind, FixedBitSet only) throws IOException {
        int maxDoc = reader.maxDoc();
        if (kind == Kind.KEYWORD) {
            SortedSetDocValues sorted = DocValues.getSortedSet(reader, field);
            SortedDocValues single = DocValues.unwrapSingleton(sorted);
            if (single != null) {
                int[] ords = new int[maxDoc];
                Arrays.fill(ords, -1);
                for (int doc = next(single, only, 0); doc != DocIdSetIterator.NO_MORE_DOCS;
                     doc = next(single, only, doc + 1)) {
                    ords[doc] = single.ordValue();
                }
                return new Column(kind, null, null, ords, null);
            }
            int[] starts = new int[maxDoc + 1];
            long[] values = multi(sorted, sorted::docValueCount, sorted::nextOrd, only, starts);
            int[] ords = new int[values.length];
            for (int i = 0; i < ords.length; i++) {
                ords[i] = Math.toIntExact(values[i]);
            }
            return new Column(kind, starts, null, ords, null);
        }
        SortedNumericDocValues sorted = DocValues.getSortedNumeric(reader, field);
        NumericDocValues single = DocValues.unwrapSingleton(sorted);
        if (single != null) {
            long[] values = new long[maxDoc];
            FixedBitSet present = new FixedBitSet(maxDoc);
            for (int doc = next(single, only, 0); doc != DocIdSetIterator.NO_MORE_DOCS;
                 doc = next(single, only, doc + 1)) {
                values[doc] = single.longValue();
                present.set(doc);
            }
            return new Column(kind, null, values, null, present);
        }
        int[] starts = new int[maxDoc + 1];
        long[] values = multi(sorted, sorted::docValueCount, sorted::nextValue, only, starts);
        return new Column(kind, starts, values, null, null);
    }

    /** Reads the next of a document's values. */
    private interface NextValue {
        long next() throws IOException;
    }

    /** How many values the current document has. */
    private interface ValueCount {
        int count() throws IOException;
    }

    /**
     * The values of a multi-valued field's documents (those {@code only} has,
     * or all), one document's after the other's; where each document's start,
     * in {@code starts}.
     */
    private static long[] multi(DocIdSetIterator docs, ValueCount count, NextValue next, FixedBitSet only,
                                int[] starts) throws IOException {
        int maxDoc = starts.length - 1;
        long[] values = new long[Math.max(16, maxDoc)];
        int n = 0;
        int last = 0;
        for (int doc = next(docs, only, 0); doc != DocIdSetIterator.NO_MORE_DOCS; doc = next(docs, only, doc + 1)) {
            while (last <= doc) {
                starts[last++] = n;
            }
            int k = count.count();
            values = ArrayUtil.grow(values, n + k);
            for (int i = 0; i < k; i++) {
                values[n++] = next.next();
            }
        }
        while (last <= maxDoc) {
            starts[last++] = n;
        }
        return ArrayUtil.copyOfSubArray(values, 0, n);
    }

    /**
     * The next document at or after {@code target} that has values (and that
     * {@code only} has, unless it is null), positioned on them.
     */
    private static int next(DocIdSetIterator values, FixedBitSet only, int target) throws IOException {
        if (only == null) {
            return target > values.docID() ? values.advance(target) : values.docID();
        }
        int length = only.length();
        for (int doc = target < length ? only.nextSetBit(target) : DocIdSetIterator.NO_MORE_DOCS;
             doc != DocIdSetIterator.NO_MORE_DOCS;
             doc = doc + 1 < length ? only.nextSetBit(doc + 1) : DocIdSetIterator.NO_MORE_DOCS) {
            if (advanceExact(values, doc)) {
                return doc;
            }
        }
        return DocIdSetIterator.NO_MORE_DOCS;
    }

    private static boolean advanceExact(DocIdSetIterator values, int doc) throws IOException {
        if (values instanceof SortedSetDocValues) {
            return ((SortedSetDocValues) values).advanceExact(doc);
        } else if (values instanceof SortedDocValues) {
            return ((SortedDocValues) values).advanceExact(doc);
        } else if (values instanceof SortedNumericDocValues) {
            return ((SortedNumericDocValues) values).advanceExact(doc);
        }
        return ((NumericDocValues) values).advanceExact(doc);
    }
}
