package azul.facets;

import java.util.List;

import org.opensearch.plugins.Plugin;
import org.opensearch.plugins.SearchPlugin;

/**
 * Azul's aggregation {@code azul_facet_counts}: the number of matching
 * documents per term of a keyword field, as a {@code terms} aggregation of
 * unlimited size lists them, counted from term bitmaps kept per segment
 * instead of each matching document's terms (see {@link SegmentTerms}).
 */
public final class FacetCountsPlugin extends Plugin implements SearchPlugin {

    @Override
    public List<AggregationSpec> getAggregations() {
        return List.of(new AggregationSpec(FacetCountsBuilder.NAME, FacetCountsBuilder::new,
                                           FacetCountsBuilder::parse)
                           .addResultReader(InternalFacetCounts::new));
    }
}
