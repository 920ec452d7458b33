package azul.facets;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

import org.apache.lucene.index.LeafReader;
import org.apache.lucene.internal.hppc.LongHashSet;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.util.ArrayUtil;
import org.apache.lucene.util.FixedBitSet;
import org.opensearch.search.aggregations.Aggregator;
import org.opensearch.search.aggregations.InternalAggregation;
import org.opensearch.search.internal.SearchContext;

/**
 * Works out each part of a summary per segment from the columns of its
 * fields (see {@link Column}), the matching documents read from memory once
 * per part.
 */
final class SummaryAggregator extends MatchesAggregator {

    private final Map<String, SummaryPart> parts;
    // Of the fields the index maps; any other has no values
    private final Map<String, Column.Kind> kinds;

    SummaryAggregator(String name, SearchContext context, Aggregator parent, Map<String, Object> metadata,
                      Map<String, SummaryPart> parts, Map<String, Column.Kind> kinds) throws IOException {
        super(name, context, parent, metadata);
        this.parts = parts;
        this.kinds = kinds;
    }

    @Override
    public InternalAggregation buildAggregation(long bucket) throws IOException {
        Map<String, InternalSummary.Figure> figures = InternalSummary.empty(parts);
        for (Leaf leaf : matched()) {
            LeafReader reader = leaf.context.reader();
            Map<String, Column> columns = new HashMap<>();
            for (Map.Entry<String, Column.Kind> entry : kinds.entrySet()) {
                columns.put(entry.getKey(), Column.of(reader, entry.getKey(), entry.getValue(), leaf.docs));
            }
            for (InternalSummary.Figure figure : figures.values()) {
                Column column = columns.get(figure.part.field);
                if (column == null) {
                    continue;
                }
                switch (figure.part.kind) {
                    case SUM:
                        sum(column, leaf.docs, figure.sum);
                        break;
                    case CARDINALITY:
                        cardinality(reader, figure.part.field, column, leaf.docs, figure);
                        break;
                    default:
                        terms(reader, column, columns, leaf.docs, figure);
                }
            }
        }
        return new InternalSummary(name, figures, metadata());
    }

    @Override
    public InternalAggregation buildEmptyAggregation() {
        return new InternalSummary(name, InternalSummary.empty(parts), metadata());
    }

    private static int next(FixedBitSet docs, int doc) {
        return doc + 1 < docs.length() ? docs.nextSetBit(doc + 1) : DocIdSetIterator.NO_MORE_DOCS;
    }

    private static void sum(Column column, FixedBitSet docs, InternalSummary.Sum sum) {
        for (int doc = docs.nextSetBit(0); doc != DocIdSetIterator.NO_MORE_DOCS; doc = next(docs, doc)) {
            for (int i = column.from(doc), to = column.to(doc); i < to; i++) {
                sum.add(column.number(i));
            }
        }
    }

    private static void cardinality(LeafReader reader, String field, Column column, FixedBitSet docs,
                                    InternalSummary.Figure figure) throws IOException {
        Ids ids = Ids.of(reader, field, column.kind, null);
        for (int doc = docs.nextSetBit(0); doc != DocIdSetIterator.NO_MORE_DOCS; doc = next(docs, doc)) {
            for (int i = column.from(doc), to = column.to(doc); i < to; i++) {
                ids.id(column.value(i));
            }
        }
        java.util.Collections.addAll(figure.values, ids.keys());
    }

    private static void terms(LeafReader reader, Column column, Map<String, Column> columns, FixedBitSet docs,
                              InternalSummary.Figure figure) throws IOException {
        SummaryPart part = figure.part;
        Ids ids = Ids.of(reader, part.field, column.kind, part.include);
        Column[] summed = new Column[part.sums.size()];
        for (int j = 0; j < summed.length; j++) {
            summed[j] = columns.get(part.sums.get(j));
        }
        Column[] distinct = new Column[part.distinct.size()];
        Ids[] distinctIds = new Ids[distinct.length];
        LongHashSet[] pairs = new LongHashSet[distinct.length];
        for (int j = 0; j < distinct.length; j++) {
            distinct[j] = columns.get(part.distinct.get(j));
            if (distinct[j] != null) {
                distinctIds[j] = Ids.of(reader, part.distinct.get(j), distinct[j].kind, null);
                pairs[j] = new LongHashSet();
            }
        }
        long[] counts = new long[16];
        InternalSummary.Sum[][] sums = new InternalSummary.Sum[summed.length][0];
        double[] docSums = new double[summed.length];
        for (int doc = docs.nextSetBit(0); doc != DocIdSetIterator.NO_MORE_DOCS; doc = next(docs, doc)) {
            int from = column.from(doc);
            int to = column.to(doc);
            if (from == to) {
                continue;
            }
            for (int j = 0; j < summed.length; j++) {
                docSums[j] = 0;
                if (summed[j] != null) {
                    for (int i = summed[j].from(doc), end = summed[j].to(doc); i < end; i++) {
                        docSums[j] += summed[j].number(i);
                    }
                }
            }
            for (int i = from; i < to; i++) {
                long value = column.value(i);
                // A document counts once per value, however often it repeats it
                if (i > from && value == column.value(i - 1)) {
                    continue;
                }
                int id = ids.id(value);
                if (id == Ids.EXCLUDED) {
                    continue;
                }
                if (id >= counts.length) {
                    counts = ArrayUtil.grow(counts, id + 1);
                }
                counts[id]++;
                for (int j = 0; j < summed.length; j++) {
                    if (id >= sums[j].length) {
                        sums[j] = grow(sums[j], id + 1);
                    }
                    sums[j][id].add(docSums[j]);
                }
                for (int j = 0; j < distinct.length; j++) {
                    if (distinct[j] != null) {
                        for (int k = distinct[j].from(doc), end = distinct[j].to(doc); k < end; k++) {
                            pairs[j].add((long) id << 32 | distinctIds[j].id(distinct[j].value(k)));
                        }
                    }
                }
            }
        }
        Object[] keys = ids.keys();
        InternalSummary.Bucket[] buckets = new InternalSummary.Bucket[keys.length];
        for (int id = 0; id < keys.length; id++) {
            buckets[id] = figure.bucket(keys[id]);
            buckets[id].count += counts[id];
            for (int j = 0; j < summed.length; j++) {
                buckets[id].sums[j].add(sums[j][id].value);
            }
        }
        for (int j = 0; j < distinct.length; j++) {
            if (distinct[j] != null) {
                Object[] values = distinctIds[j].keys();
                for (long pair : pairs[j].toArray()) {
                    buckets[(int) (pair >>> 32)].distinct.get(j).add(values[(int) pair]);
                }
            }
        }
    }

    private static InternalSummary.Sum[] grow(InternalSummary.Sum[] sums, int size) {
        InternalSummary.Sum[] grown = ArrayUtil.growExact(sums, Math.max(size, sums.length * 2));
        for (int i = sums.length; i < grown.length; i++) {
            grown[i] = new InternalSummary.Sum();
        }
        return grown;
    }
}
