package azul.facets;

import java.util.List;

import org.opensearch.plugins.Plugin;
import org.opensearch.plugins.SearchPlugin;

/**
 * Azul's aggregations, worked out from what is kept per segment (see
 * {@link SegmentCache}) rather than document by document:
 * {@code azul_facet_counts}, the number of matching documents per term of a
 * keyword field, as a {@code terms} aggregation of unlimited size lists them,
 * from term bitmaps (see {@link SegmentTerms}); and {@code azul_summary},
 * the sums, cardinalities and sums per term of a summary, from per-document
 * values (see {@link Column}).
 */
public final class FacetCountsPlugin extends Plugin implements SearchPlugin {

    @Override
    public List<AggregationSpec> getAggregations() {
        return List.of(new AggregationSpec(FacetCountsBuilder.NAME, FacetCountsBuilder::new,
                                           FacetCountsBuilder::parse)
                           .addResultReader(InternalFacetCounts::new),
                       new AggregationSpec(SummaryBuilder.NAME, SummaryBuilder::new, SummaryBuilder::parse)
                           .addResultReader(InternalSummary::new));
    }
}
