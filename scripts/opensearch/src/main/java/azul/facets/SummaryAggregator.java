package azul.facets;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

import org.apache.lucene.index.LeafReader;
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
            int[] docs = leaf.list();
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
                        sum(column, docs, figure.sum);
                        break;
                    case CARDINALITY:
                        cardinality(reader, figure.part.field, column, docs, figure);
                        break;
                    default:
                        new TermsPart(reader, figure.part, column, columns).add(reader, leaf.docs, docs)
                            .addTo(figure);
                }
            }
        }
        return new InternalSummary(name, figures, metadata());
    }

    @Override
    public InternalAggregation buildEmptyAggregation() {
        return new InternalSummary(name, InternalSummary.empty(parts), metadata());
    }

    private static void sum(Column column, int[] docs, InternalSummary.Sum sum) {
        for (int doc : docs) {
            sum.add(column.sum(doc));
        }
    }

    private static void cardinality(LeafReader reader, String field, Column column, int[] docs,
                                    InternalSummary.Figure figure) throws IOException {
        Ids ids = Ids.of(reader, field, column.kind, null);
        for (int doc : docs) {
            for (int i = column.from(doc), to = column.to(doc); i < to; i++) {
                ids.id(column.value(i));
            }
        }
        java.util.Collections.addAll(figure.values, ids.keys());
    }
}
