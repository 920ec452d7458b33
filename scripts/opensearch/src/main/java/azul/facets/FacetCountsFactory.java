package azul.facets;

import java.io.IOException;
import java.util.Map;

import org.opensearch.index.query.QueryShardContext;
import org.opensearch.search.aggregations.Aggregator;
import org.opensearch.search.aggregations.AggregatorFactories;
import org.opensearch.search.aggregations.AggregatorFactory;
import org.opensearch.search.aggregations.CardinalityUpperBound;
import org.opensearch.search.internal.SearchContext;

final class FacetCountsFactory extends AggregatorFactory {

    private final String field;
    private final String prefix;
    private final SegmentTerms.Method method;

    FacetCountsFactory(String name, QueryShardContext context, AggregatorFactory parent,
                       AggregatorFactories.Builder subFactories, Map<String, Object> metadata,
                       String field, String prefix, SegmentTerms.Method method) throws IOException {
        super(name, context, parent, subFactories, metadata);
        this.field = field;
        this.prefix = prefix;
        this.method = method;
    }

    @Override
    protected Aggregator createInternal(SearchContext context, Aggregator parent,
                                        CardinalityUpperBound cardinality,
                                        Map<String, Object> metadata) throws IOException {
        return new FacetCountsAggregator(name, context, parent, metadata, field, prefix, method);
    }
}
