package azul.facets;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.util.FixedBitSet;
import org.opensearch.search.aggregations.Aggregator;
import org.opensearch.search.aggregations.LeafBucketCollector;
import org.opensearch.search.aggregations.metrics.MetricsAggregator;
import org.opensearch.search.internal.SearchContext;

/**
 * Collects the matching documents of each segment as a bit set, for an
 * aggregation worked out from them when it is built: from what is kept per
 * segment, rather than document by document as they are collected.
 */
abstract class MatchesAggregator extends MetricsAggregator {

    /** A segment and its matching documents. */
    static final class Leaf {
        final LeafReaderContext context;
        final FixedBitSet docs;
        int matched;

        Leaf(LeafReaderContext context, FixedBitSet docs) {
            this.context = context;
            this.docs = docs;
        }

        /**
         * The matching documents in ascending order: read once, where every
         * part of a summary would look for each set bit again.
         */
        int[] list() {
            int[] list = new int[matched];
            int n = 0;
            int length = docs.length();
            for (int doc = docs.nextSetBit(0); doc != DocIdSetIterator.NO_MORE_DOCS;
                 doc = doc + 1 < length ? docs.nextSetBit(doc + 1) : DocIdSetIterator.NO_MORE_DOCS) {
                list[n++] = doc;
            }
            return list;
        }
    }

    private final List<Leaf> leaves = new ArrayList<>();

    MatchesAggregator(String name, SearchContext context, Aggregator parent, Map<String, Object> metadata)
        throws IOException {
        super(name, context, parent, metadata);
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

    /** The segments with matching documents. */
    final List<Leaf> matched() {
        List<Leaf> matched = new ArrayList<>();
        for (Leaf leaf : leaves) {
            if (leaf.matched > 0) {
                matched.add(leaf);
            }
        }
        return matched;
    }
}
