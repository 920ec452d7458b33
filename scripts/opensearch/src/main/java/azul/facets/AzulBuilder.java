package azul.facets;

import java.io.IOException;
import java.util.Map;

import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.search.aggregations.AbstractAggregationBuilder;
import org.opensearch.search.aggregations.AggregatorFactories;
import org.opensearch.search.aggregations.AggregatorFactory;

/**
 * What the requests of Azul's aggregations have in common: each is a
 * top-level aggregation of one value (no buckets), without
 * sub-aggregations, since it works from the matching documents of a whole
 * segment.
 */
abstract class AzulBuilder<T extends AzulBuilder<T>> extends AbstractAggregationBuilder<T> {

    AzulBuilder(String name) {
        super(name);
    }

    AzulBuilder(StreamInput in) throws IOException {
        super(in);
    }

    AzulBuilder(T clone, AggregatorFactories.Builder factories, Map<String, Object> metadata) {
        super(clone, factories, metadata);
    }

    /** Refuses a place below another aggregation, and sub-aggregations of its own. */
    final void checkTopLevel(AggregatorFactory parent, AggregatorFactories.Builder subFactories) {
        if (parent != null) {
            throw new IllegalArgumentException("[" + getType() + "] is a top-level aggregation only");
        }
        if (subFactories.count() != 0) {
            throw new IllegalArgumentException("[" + getType() + "] takes no sub-aggregations");
        }
    }

    @Override
    public final BucketCardinality bucketCardinality() {
        return BucketCardinality.NONE;
    }
}
