package azul.facets;

import java.io.IOException;
import java.util.List;
import java.util.Map;

import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.search.aggregations.InternalAggregation;

/**
 * What the results of Azul's aggregations have in common: a single result
 * needs no reduction, and they have no properties for pipeline
 * aggregations to read.
 */
abstract class AzulResult extends InternalAggregation {

    AzulResult(String name, Map<String, Object> metadata) {
        super(name, metadata);
    }

    AzulResult(StreamInput in) throws IOException {
        super(in);
    }

    @Override
    protected final boolean mustReduceOnSingleInternalAgg() {
        return false;
    }

    @Override
    public final Object getProperty(List<String> path) {
        if (path.isEmpty()) {
            return this;
        }
        throw new IllegalArgumentException("[" + getWriteableName() + "] has no property " + path);
    }
}
