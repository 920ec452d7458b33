package azul.facets;

import java.io.IOException;
import java.util.Map;
import java.util.Objects;

import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.query.QueryShardContext;
import org.opensearch.search.aggregations.AggregationBuilder;
import org.opensearch.search.aggregations.AggregatorFactories;
import org.opensearch.search.aggregations.AggregatorFactory;

/**
 * {@code {"azul_facet_counts": {"field": F, "prefix": P, "method": M}}}: the
 * terms of the keyword field F (only those starting with P). M chooses how a
 * segment's terms are counted: {@code bitmaps}, {@code read} (each matching
 * document's terms), or {@code auto} (the default: whichever costs less).
 */
public final class FacetCountsBuilder extends AzulBuilder<FacetCountsBuilder> {

    public static final String NAME = "azul_facet_counts";

    private final String field;
    private final String prefix;
    private final SegmentTerms.Method method;

    public FacetCountsBuilder(String name, String field, String prefix, SegmentTerms.Method method) {
        super(name);
        this.field = Objects.requireNonNull(field, "field");
        this.prefix = prefix == null ? "" : prefix;
        this.method = method == null ? SegmentTerms.Method.AUTO : method;
    }

    public FacetCountsBuilder(StreamInput in) throws IOException {
        super(in);
        field = in.readString();
        prefix = in.readString();
        method = in.readEnum(SegmentTerms.Method.class);
    }

    private FacetCountsBuilder(FacetCountsBuilder clone, AggregatorFactories.Builder factories,
                               Map<String, Object> metadata) {
        super(clone, factories, metadata);
        field = clone.field;
        prefix = clone.prefix;
        method = clone.method;
    }

    public static FacetCountsBuilder parse(XContentParser parser, String name) throws IOException {
        String field = null;
        String prefix = null;
        SegmentTerms.Method method = null;
        XContentParser.Token token;
        String key = null;
        while ((token = parser.nextToken()) != XContentParser.Token.END_OBJECT) {
            if (token == XContentParser.Token.FIELD_NAME) {
                key = parser.currentName();
            } else if (token == XContentParser.Token.VALUE_STRING && "field".equals(key)) {
                field = parser.text();
            } else if (token == XContentParser.Token.VALUE_STRING && "prefix".equals(key)) {
                prefix = parser.text();
            } else if (token == XContentParser.Token.VALUE_STRING && "method".equals(key)) {
                method = SegmentTerms.Method.parse(parser.text());
            } else {
                throw new IllegalArgumentException("[" + NAME + "] takes only the strings [field], [prefix] "
                                                   + "and [method], not [" + key + "]");
            }
        }
        if (field == null) {
            throw new IllegalArgumentException("[" + NAME + "] needs a [field]");
        }
        return new FacetCountsBuilder(name, field, prefix, method);
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        out.writeString(field);
        out.writeString(prefix);
        out.writeEnum(method);
    }

    @Override
    protected XContentBuilder internalXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject();
        builder.field("field", field);
        builder.field("prefix", prefix);
        builder.field("method", method.toString());
        return builder.endObject();
    }

    @Override
    protected AggregatorFactory doBuild(QueryShardContext context, AggregatorFactory parent,
                                        AggregatorFactories.Builder subFactories) throws IOException {
        checkTopLevel(parent, subFactories);
        return new FacetCountsFactory(name, context, parent, subFactories, metadata, field, prefix, method);
    }

    @Override
    protected AggregationBuilder shallowCopy(AggregatorFactories.Builder factories, Map<String, Object> metadata) {
        return new FacetCountsBuilder(this, factories, metadata);
    }

    @Override
    public String getType() {
        return NAME;
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), field, prefix, method);
    }

    @Override
    public boolean equals(Object obj) {
        if (this == obj) {
            return true;
        }
        if (obj == null || getClass() != obj.getClass() || !super.equals(obj)) {
            return false;
        }
        FacetCountsBuilder other = (FacetCountsBuilder) obj;
        return field.equals(other.field) && prefix.equals(other.prefix) && method == other.method;
    }
}
