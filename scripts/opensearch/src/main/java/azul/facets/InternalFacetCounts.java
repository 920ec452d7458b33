package azul.facets;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import org.apache.lucene.util.BytesRef;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.search.aggregations.InternalAggregation;

/**
 * The counts of an {@code azul_facet_counts} aggregation, shown as a
 * {@code terms} aggregation shows its buckets: by count, descending, then by
 * key (UTF-8 bytes, in the order of code points), every term listed.
 */
public final class InternalFacetCounts extends AzulResult {

    private final Map<BytesRef, Long> counts;

    InternalFacetCounts(String name, Map<BytesRef, Long> counts, Map<String, Object> metadata) {
        super(name, metadata);
        this.counts = counts;
    }

    public InternalFacetCounts(StreamInput in) throws IOException {
        super(in);
        int size = in.readVInt();
        counts = new HashMap<>(size * 2);
        for (int i = 0; i < size; i++) {
            counts.put(in.readBytesRef(), in.readVLong());
        }
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        out.writeVInt(counts.size());
        for (Map.Entry<BytesRef, Long> entry : counts.entrySet()) {
            out.writeBytesRef(entry.getKey());
            out.writeVLong(entry.getValue());
        }
    }

    @Override
    public String getWriteableName() {
        return FacetCountsBuilder.NAME;
    }

    @Override
    public InternalAggregation reduce(List<InternalAggregation> aggregations, ReduceContext context) {
        Map<BytesRef, Long> merged = new HashMap<>();
        for (InternalAggregation aggregation : aggregations) {
            for (Map.Entry<BytesRef, Long> entry : ((InternalFacetCounts) aggregation).counts.entrySet()) {
                merged.merge(entry.getKey(), entry.getValue(), Long::sum);
            }
        }
        return new InternalFacetCounts(name, merged, metadata);
    }

    @Override
    public XContentBuilder doXContentBody(XContentBuilder builder, Params params) throws IOException {
        List<Map.Entry<BytesRef, Long>> entries = new ArrayList<>(counts.entrySet());
        entries.sort((a, b) -> {
            int order = Long.compare(b.getValue(), a.getValue());
            return order != 0 ? order : a.getKey().compareTo(b.getKey());
        });
        builder.field("doc_count_error_upper_bound", 0);
        builder.field("sum_other_doc_count", 0);
        builder.startArray("buckets");
        for (Map.Entry<BytesRef, Long> entry : entries) {
            builder.startObject();
            builder.field("key", entry.getKey().utf8ToString());
            builder.field("doc_count", entry.getValue());
            builder.endObject();
        }
        return builder.endArray();
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), counts);
    }

    @Override
    public boolean equals(Object obj) {
        if (this == obj) {
            return true;
        }
        if (obj == null || getClass() != obj.getClass() || !super.equals(obj)) {
            return false;
        }
        return counts.equals(((InternalFacetCounts) obj).counts);
    }
}
