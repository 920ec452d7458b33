package azul.facets;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.util.BytesRef;
import org.apache.lucene.util.FixedBitSet;
import org.opensearch.search.aggregations.Aggregator;
import org.opensearch.search.aggregations.InternalAggregation;
import org.opensearch.search.aggregations.LeafBucketCollector;
import org.opensearch.search.aggregations.metrics.MetricsAggregator;
import org.opensearch.search.internal.SearchContext;

/**
 * Collects the matching documents of each segment as a bit set, and counts
 * the terms when the aggregation is built (see {@link SegmentTerms}).
 */
final class FacetCountsAggregator extends MetricsAggregator {

    private static final class Leaf {
        final LeafReaderContext context;
        final FixedBitSet docs;
        int matched;

        Leaf(LeafReaderContext context, FixedBitSet docs) {
            this.context = context;
            this.docs = docs;
        }
    }

    private final String field;
    private final String prefix;
    private final SegmentTerms.Method method;
    private final List<Leaf> leaves = new ArrayList<>();

    FacetCountsAggregator(String name, SearchContext context, Aggregator parent,
                          Map<String, Object> metadata, String field, String prefix,
                          SegmentTerms.Method method) throws IOException {
        super(name, context, parent, metadata);
        this.field = field;
        this.prefix = prefix;
        this.method = method;
    }

    @Override
    public ScoreMode scoreMode() {
        return ScoreMode.COMPLETE_NO_SCORES;
    }

    @Override
    protected LeafBucketCollector getLeafCollector(LeafReaderContext context, LeafBucketCollector sub) {
        int maxDoc = context.reader().maxDoc();
        addRequestCircuitBreakerBytes(FixedBitSet.bits2words(maxDoc) * (long) Long.BYTES);
        Leaf leaf = new Leaf(context, new FixedBitSet(maxDoc));
        leaves.add(leaf);
        return new LeafBucketCollector() {
            @Override
            public void collect(int doc, long bucket) {
                leaf.docs.set(doc);
                leaf.matched++;
            }
        };
    }

    @Override
    public InternalAggregation buildAggregation(long bucket) throws IOException {
        Map<BytesRef, Long> counts = new HashMap<>();
        for (Leaf leaf : leaves) {
            if (leaf.matched > 0) {
                SegmentTerms.count(leaf.context.reader(), field, prefix, method, leaf.docs, leaf.matched,
                                   counts);
            }
        }
        return new InternalFacetCounts(name, counts, metadata());
    }

    @Override
    public InternalAggregation buildEmptyAggregation() {
        return new InternalFacetCounts(name, new HashMap<>(), metadata());
    }
}
