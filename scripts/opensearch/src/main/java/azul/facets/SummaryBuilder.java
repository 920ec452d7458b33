package azul.facets;

import java.io.IOException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.query.QueryShardContext;
import org.opensearch.search.aggregations.AggregationBuilder;
import org.opensearch.search.aggregations.AggregatorFactories;
import org.opensearch.search.aggregations.AggregatorFactory;

/**
 * {@code {"azul_summary": {"parts": {NAME: PART, ...}}}}: the figures of a
 * summary (see {@link SummaryPart}) over the matching documents, all read in
 * one pass per segment from columns kept in memory (see {@link Column}).
 */
public final class SummaryBuilder extends AzulBuilder<SummaryBuilder> {

    public static final String NAME = "azul_summary";

    private final Map<String, SummaryPart> parts;

    public SummaryBuilder(String name, Map<String, SummaryPart> parts) {
        super(name);
        this.parts = new LinkedHashMap<>(parts);
    }

    public SummaryBuilder(StreamInput in) throws IOException {
        super(in);
        parts = readParts(in);
    }

    private SummaryBuilder(SummaryBuilder clone, AggregatorFactories.Builder factories, Map<String, Object> metadata) {
        super(clone, factories, metadata);
        parts = clone.parts;
    }

    static Map<String, SummaryPart> readParts(StreamInput in) throws IOException {
        int size = in.readVInt();
        Map<String, SummaryPart> parts = new LinkedHashMap<>();
        for (int i = 0; i < size; i++) {
            parts.put(in.readString(), new SummaryPart(in));
        }
        return parts;
    }

    static void writeParts(StreamOutput out, Map<String, SummaryPart> parts) throws IOException {
        out.writeVInt(parts.size());
        for (Map.Entry<String, SummaryPart> entry : parts.entrySet()) {
            out.writeString(entry.getKey());
            entry.getValue().writeTo(out);
        }
    }

    public static SummaryBuilder parse(XContentParser parser, String name) throws IOException {
        Map<String, Object> body = parser.map();
        for (String key : body.keySet()) {
            if (!key.equals("parts")) {
                throw new IllegalArgumentException("[" + NAME + "] takes only [parts], not [" + key + "]");
            }
        }
        Object json = body.get("parts");
        if (!(json instanceof Map) || ((Map<?, ?>) json).isEmpty()) {
            throw new IllegalArgumentException("[" + NAME + "] needs [parts], an object of named parts");
        }
        Map<String, SummaryPart> parts = new LinkedHashMap<>();
        for (Map.Entry<?, ?> entry : ((Map<?, ?>) json).entrySet()) {
            String part = entry.getKey().toString();
            parts.put(part, SummaryPart.parse(part, entry.getValue()));
        }
        return new SummaryBuilder(name, parts);
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        writeParts(out, parts);
    }

    @Override
    protected XContentBuilder internalXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject();
        builder.startObject("parts");
        for (Map.Entry<String, SummaryPart> entry : parts.entrySet()) {
            builder.field(entry.getKey());
            entry.getValue().toXContent(builder);
        }
        builder.endObject();
        return builder.endObject();
    }

    @Override
    protected AggregatorFactory doBuild(QueryShardContext context, AggregatorFactory parent,
                                        AggregatorFactories.Builder subFactories) throws IOException {
        checkTopLevel(parent, subFactories);
        // A field the index does not map has no values, as for OpenSearch's aggregations
        Map<String, Column.Kind> kinds = new HashMap<>();
        for (SummaryPart part : parts.values()) {
            for (String field : part.fields()) {
                MappedFieldType type = context.fieldMapper(field);
                if (type != null) {
                    Column.Kind kind = Column.Kind.of(type.typeName());
                    if (kind == null) {
                        throw new IllegalArgumentException("[" + NAME + "] cannot read the field [" + field
                                                           + "] of type [" + type.typeName() + "]");
                    }
                    kinds.put(field, kind);
                }
            }
            if (part.include != null && kinds.containsKey(part.field) && kinds.get(part.field) != Column.Kind.KEYWORD) {
                throw new IllegalArgumentException("[" + NAME + "] takes [include] for keyword fields only, not for ["
                                                   + part.field + "]");
            }
            for (String field : part.kind == SummaryPart.Kind.SUM ? java.util.List.of(part.field) : part.sums) {
                if (kinds.get(field) == Column.Kind.KEYWORD) {
                    throw new IllegalArgumentException("[" + NAME + "] cannot sum the keyword field [" + field + "]");
                }
            }
        }
        return new SummaryFactory(name, context, parent, subFactories, metadata, parts, kinds);
    }

    @Override
    protected AggregationBuilder shallowCopy(AggregatorFactories.Builder factories, Map<String, Object> metadata) {
        return new SummaryBuilder(this, factories, metadata);
    }

    @Override
    public String getType() {
        return NAME;
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), parts);
    }

    @Override
    public boolean equals(Object obj) {
        if (this == obj) {
            return true;
        }
        if (obj == null || getClass() != obj.getClass() || !super.equals(obj)) {
            return false;
        }
        return parts.equals(((SummaryBuilder) obj).parts);
    }
}
