package azul.facets;

import java.io.IOException;
import java.util.Map;

import org.opensearch.index.query.QueryShardContext;
import org.opensearch.search.aggregations.Aggregator;
import org.opensearch.search.aggregations.AggregatorFactories;
import org.opensearch.search.aggregations.AggregatorFactory;
import org.opensearch.search.aggregations.CardinalityUpperBound;
import org.opensearch.search.internal.SearchContext;

final class SummaryFactory extends AggregatorFactory {

    private final Map<String, SummaryPart> parts;
    private final Map<String, Column.Kind> kinds;

    SummaryFactory(String name, QueryShardContext context, AggregatorFactory parent,
                   AggregatorFactories.Builder subFactories, Map<String, Object> metadata,
                   Map<String, SummaryPart> parts, Map<String, Column.Kind> kinds) throws IOException {
        super(name, context, parent, subFactories, metadata);
        this.parts = parts;
        this.kinds = kinds;
    }

    @Override
    protected Aggregator createInternal(SearchContext context, Aggregator parent, CardinalityUpperBound cardinality,
                                        Map<String, Object> metadata) throws IOException {
        return new SummaryAggregator(name, context, parent, metadata, parts, kinds);
    }
}
