package azul.facets;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

import org.apache.lucene.util.BytesRef;
import org.opensearch.search.aggregations.Aggregator;
import org.opensearch.search.aggregations.InternalAggregation;
import org.opensearch.search.internal.SearchContext;

/**
 * Counts the terms of the matching documents when the aggregation is built
 * (see {@link SegmentTerms}).
 */
final class FacetCountsAggregator extends MatchesAggregator {

    private final String field;
    private final String prefix;
    private final SegmentTerms.Method method;

    FacetCountsAggregator(String name, SearchContext context, Aggregator parent,
                          Map<String, Object> metadata, String field, String prefix,
                          SegmentTerms.Method method) throws IOException {
        super(name, context, parent, metadata);
        this.field = field;
        this.prefix = prefix;
        this.method = method;
    }

    @Override
    public InternalAggregation buildAggregation(long bucket) throws IOException {
        Map<BytesRef, Long> counts = new HashMap<>();
        for (Leaf leaf : matched()) {
            SegmentTerms.count(leaf.context.reader(), field, prefix, method, leaf.docs, leaf.matched, counts);
        }
        return new InternalFacetCounts(name, counts, metadata());
    }

    @Override
    public InternalAggregation buildEmptyAggregation() {
        return new InternalFacetCounts(name, new HashMap<>(), metadata());
    }
}
