"""Data describing Open Terms Archive's formats, kept beside the code that reads them.

- `declaration.schema.json`: the JSON Schema of service declarations and their history files;
  `schema_problems` validates against it and words each problem for a declaration's author.
- `terms-types.json`: what OTA's terms types are also called (from OTA's terms-types dataset), so
  that an unknown type gets the right suggestion (`ota.declarations.schema.terms_types`).
- `MIME_EXTENSIONS`: the file extensions that OTA's `mime` package (4.1.2) maps to a MIME type.
  Source document IDs drop such an extension (`en.html` → `en`) and keep any other one
  (`terms.aspx` stays `terms.aspx`), and these IDs name snapshot files, so the list must be
  OTA's exactly, not Python's `mimetypes`, which knows fewer and depends on the machine.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any, Literal, cast

import ada_url
import fastjsonschema

if TYPE_CHECKING:  # jsonschema is imported when a file is invalid: it takes 60 ms to import
    import jsonschema
    from jsonschema.exceptions import ValidationError

# From `mime` 4.1.2 (types/standard and types/other), stars dropped: getType knows them all.
_MIME_EXTENSIONS_TEXT = """
123 1km 210 3dml 3ds 3g2 3gp 3gpp 3mf 7z aab aac aam aas abw ac acc ace acu acutc adp adts aep afm
afp age ahead ai aif aifc aiff air ait ami aml amlx amr apk apng appcache appinstaller application
appx appxbundle apr arc arj asc asf asm aso asx atc atom atomcat atomdeleted atomsvc atx au avci
avcs avi avif aw azf azs azv azw b16 bary bat bcpio bdf bdm bdo bdoc bed bh2 bin blb blend blorb bmi
bmml bmp book box boz bpk brush brushset bsp btf btif buffer bz bz2 c c11amc c11amz c4d c4f c4g c4p
c4u cab caf cap car cat cb7 cba cbr cbt cbz cc cco cct ccxml cdbcmsg cdf cdfx cdkey cdmia cdmic
cdmid cdmio cdmiq cdx cdxml cdy cer cfs cgm chat chm chrt cif cii cil cjs cla class cld clkk clkp
clkt clkw clkx clp cmc cmdf cml cmp cmx cod coffee com conf cpio cpl cpp cpt crd crl crt crx
cryptonote csh csl csml csp css cst csv cu curl cwl cww cxt cxx dae daf dart dataless davmount dbf
dbk dcm dcmp dcr dcurl dd2 ddd ddf dds deb def deploy der dfac dgc dib dic dir dis
disposition-notification dist distz djv djvu dll dmg dmp dms dna dng doc docm docx dot dotm dotx dp
dpg dpx dra drle drm dsc dssc dtb dtd dts dtshd dump dvb dvi dwd dwf dwg dxf dxp dxr ear ecelp4800
ecelp7470 ecelp9600 ecma edm edx efif ei6 elc emf eml emma emotionml emz eol eot eps epub es3 esa
esf et3 etx eva evy exe exi exp exr ext ez ez2 ez3 f f4v f77 f90 facti fbs fbx fcdt fcs fdf fdt
fe_launch fg5 fgd fh fh4 fh5 fh7 fhc fig fits flac fli flo flv flw flx fly fm fnc fo for fpx frame
fsc fst ftc fti fvt fxp fxpl fzs g2w g3 g3w gac gam gbr gca gdl gdoc gdraw ged geo geojson gex gform
ggb ggs ggt ghf gif gim gjam glb gltf gmap gml gmx gnumeric gph gpx gqf gqs gram gramps gre grv
grxml gscript gsf gsheet gsite gslides gtar gtm gtw gv gxf gxt gz h h261 h263 h264 hal hbci hbs hdd
hdf heic heics heif heifs hej2 held hh hjson hlp hpgl hpid hps hqx htc htke htm html hvd hvp hvs i2g
icc ice icm ico ics ief ifb ifm iges igl igm igs igx iif img imp ims in ini ink inkml install iota
ipfix ipk ipynb irm irp iso itp its ivp ivu jad jade jaii jais jam jar jardiff java jfif jhc jisp
jls jlt jng jnlp joda jp2 jpe jpeg jpf jpg jpg2 jpgm jpgv jph jpm jpx js json json5 jsonld jsonml
jsx jt jxl jxr jxra jxrs jxs jxsc jxsi jxss kar karbon kdbx key kfo kia kml kmz kne knp kon kpr kpt
kpxx ksp ktr ktx ktx2 ktz kwd kwt lasxml latex lbd lbe les less lgr lha link66 list list3820 listafp
litcoffee lnk log lostxml lottie lrf lrm ltf lua luac lvp lwp lzh m13 m14 m1v m21 m2a m2t m2ts m2v
m3a m3u m3u8 m4a m4b m4p m4s m4u m4v ma mads maei mag maker man manifest map mar markdown mathml mb
mbk mbox mc1 mcd mcurl md mdb mdi mdx me mesh meta4 metalink mets mfm mft mgp mgz mht mhtml mid midi
mie mif mime mj2 mjp2 mjs mk3d mka mkd mks mkv mlp mmd mmf mml mmr mng mny mobi mods mov movie mp2
mp21 mp2a mp3 mp4 mp4a mp4s mp4v mpc mpd mpe mpeg mpf mpg mpg4 mpga mpkg mpm mpn mpp mpt mpy mqy mrc
mrcx ms mscml mseed mseq msf msg msh msi msix msixbundle msl msm msp msty mtl mts mus musd musicxml
mvb mvt mwf mxf mxl mxmf mxml mxs mxu n-gage n3 nb nbp nc ncx nfo ngdat nitf nlu nml nnd nns nnw npx
nq nsc nsf nt ntf numbers nzb oa2 oa3 oas obd obgx obj oda odb odc odf odft odg odi odm odp ods odt
oga ogex ogg ogv ogx omdoc one onea onepkg onetmp onetoc onetoc2 opf opml oprc opus org osf osfpvg
osm otc otf otg oth oti otp ots ott ova ovf owl oxps oxt p p10 p12 p21 p7b p7c p7m p7r p7s p8 pac
pages pas paw pbd pbm pcap pcf pcl pclxl pct pcurl pcx pdb pde pdf pem pfa pfb pfm pfr pfx pgm pgn
pgp php pic pkg pki pkipath pkpass pl plb plc plf pls pm pml png pnm portpkg pot potm potx ppam ppd
ppm pps ppsm ppsx ppt pptm pptx pqa prc pre prf provx ps psb psd psf pskcxml pti ptid pub pvb pwn
pya pyo pyox pyv qam qbo qfx qps qt qwd qwt qxb qxd qxl qxt ra ram raml rapd rar ras rcprofile rdf
rdz relo rep res rgb rif rip ris rl rlc rld rm rmi rmp rms rmvb rnc rng roa roff rp9 rpm rpss rpst
rq rs rsat rsd rsheet rss rtf rtx run rusd s s3m saf sass sbml sc scd scm scq scs scss scurl sda sdc
sdd sdkd sdkm sdp sdw sea see seed sema semd semf senmlx sensmlx ser setpay setreg sfd-hdstx sfs sfv
sgi sgl sgm sgml sh shar shex shf shtml sid sieve sig sil silo sis sisx sit sitx siv skd skm skp skt
sldm sldx slim slm sls slt sm smf smi smil smv smzip snd snf so spc spdx spf spl spot spp spq spx
sql src srt sru srx ssdl sse ssf ssml st stc std step stf sti stk stl stp stpnc stpx stpxz stpz str
stw styl stylus sub sus susp sv4cpio sv4crc svc svd svg svgz swa swf swi swidtag sxc sxd sxg sxi sxm
sxw t t3 t38 taglet tao tap tar tcap tcl td teacher tei teicorpus tex texi texinfo text tfi tfm tfx
tga thmx tif tiff tk tmo toml torrent tpl tpt tr tra trig trm ts tsd tsv ttc ttf ttl ttml twd twds
txd txf txt u32 u3d u8dsn u8hdr u8mdn u8msg ubj udeb ufd ufdl ulx umj unityweb uo uoml uri uris urls
usda usdz ustar utz uu uva uvd uvf uvg uvh uvi uvm uvp uvs uvt uvu uvv uvva uvvd uvvf uvvg uvvh uvvi
uvvm uvvp uvvs uvvt uvvu uvvv uvvx uvvz uvx uvz vbox vbox-extpack vcard vcd vcf vcg vcs vcx vdi vds
vdx vhd vis viv vmdk vob vor vox vrml vsd vsdx vsf vss vst vsw vtf vtt vtu vtx vxml w3d wad wadl war
wasm wav wax wbmp wbs wbxml wcm wdb wdp weba webapp webm webmanifest webp wg wgsl wgt wif wks wm wma
wmd wmf wml wmlc wmls wmlsc wmv wmx wmz woff woff2 wpd wpl wps wqd wri wrl wsc wsdl wspolicy wtb wvx
x32 x3d x3db x3dbz x3dv x3dvz x3dz x_b x_t xaml xap xar xav xbap xbd xbm xca xcs xdcf xdf xdm xdp
xdssc xdw xel xenc xer xfdf xfdl xht xhtm xhtml xhvml xif xla xlam xlc xlf xlm xls xlsb xlsm xlsx
xlt xltm xltx xlw xm xml xns xo xop xpi xpl xpm xpr xps xpw xpx xsd xsf xsl xslt xsm xspf xul xvm
xvml xwd xyz xz yaml yang yin yml ymp z1 z2 z3 z4 z5 z6 z7 z8 zaz zip zir zirz zmm
"""
MIME_EXTENSIONS: frozenset[str] = frozenset(_MIME_EXTENSIONS_TEXT.split())

#: A problem found in a declaration: where (keys and 0-based list indexes) and what, in plain words.
Problem = tuple[tuple[str | int, ...], str]

_TYPE_WORDS = {
    "string": "text in double quotes",
    "object": "an object {…}",
    "array": "a list […]",
    "boolean": "true or false",
    "number": "a number",
    "integer": "a whole number",
    "null": "null",
}


@cache
def declaration_schema() -> dict[str, Any]:
    """The JSON Schema of declarations, as shipped in this package (read once; do not modify)."""
    text = files(__package__).joinpath("declaration.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def standard_terms_types() -> tuple[str, ...]:
    """OTA's standard terms types, in the schema's order."""
    return tuple(declaration_schema()["$defs"]["termsType"]["enum"])


def parse_date_time(text: str) -> datetime:
    """An ISO 8601 date and time; one without a time zone is taken as UTC. Raises ValueError."""
    # A bare date is refused as OTA's schema does (format date-time): "until 2024-05-31" is ambiguous.
    if "T" not in text.upper() and " " not in text:
        raise ValueError(f"{text!r} has no time")
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_web_address(text: str) -> bool:
    """Whether a URL parses the way browsers parse it and uses http or https."""
    try:
        return ada_url.URL(text).protocol in ("http:", "https:")
    except ValueError:
        return False


def item_label(index: int) -> str:
    """How a list position appears in a field path: 1-based words, readable by non-programmers."""
    return f"item {index + 1}"


@cache
def _schema(definition: str, terms_types: frozenset[str]) -> dict[str, Any]:
    """The schema of a service declaration or a history file, with the collection's terms types."""
    schema = copy.deepcopy(declaration_schema())
    schema["$ref"] = f"#/$defs/{definition}"
    # Collections may declare their own terms types: they widen the enum, the file stays OTA's list.
    standard = schema["$defs"]["termsType"]["enum"]
    schema["$defs"]["termsType"]["enum"] = [t for t in standard if t in terms_types] + sorted(
        terms_types.difference(standard)
    )
    return schema


@cache
def _validator(definition: str, terms_types: frozenset[str]) -> jsonschema.Draft202012Validator:
    import jsonschema

    formats = jsonschema.FormatChecker(formats=())
    formats.checks("uri")(is_web_address)  # type: ignore[type-var]  # the stubs want Callable[[object], bool]
    formats.checks("date-time", raises=ValueError)(_is_date_time)  # type: ignore[type-var]
    return jsonschema.Draft202012Validator(_schema(definition, terms_types), format_checker=formats)


@cache
def _fast_validator(definition: str, terms_types: frozenset[str]) -> Callable[[Any], Any]:
    """The same schema compiled to Python code (fastjsonschema): about 12 times faster than
    jsonschema on valid files, which is what a collection mostly has; jsonschema then explains
    the invalid ones in the words of `errorMessage`."""
    schema = copy.deepcopy(_schema(definition, terms_types))
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"  # the keywords used are draft-07's too
    return fastjsonschema.compile(schema, formats={"uri": is_web_address, "date-time": _is_date_time})


def _is_date_time(text: str) -> bool:
    try:
        parse_date_time(text)
    except ValueError:
        return False
    return True


def schema_problems(
    instance: Any, *, definition: Literal["service", "history"], terms_types: Iterable[str]
) -> list[Problem]:
    """Every way `instance` breaks the schema, in the order they appear in the file.

    Only the first problem at each place is kept: the later ones restate it less precisely (an entry
    that is not an object fails both "must be an object with fetch…" and each variant's type).
    """
    terms_types = frozenset(terms_types)
    try:
        _fast_validator(definition, terms_types)(instance)
        return []  # the common case, a valid file, without jsonschema's slower walk
    except fastjsonschema.JsonSchemaException:
        pass
    validator = _validator(definition, terms_types)
    found: dict[tuple[str | int, ...], tuple[Problem, tuple[int, ...]]] = {}
    for error in validator.iter_errors(instance):
        for problem, anchor in _explain(error):
            found.setdefault(problem[0], (problem, _document_position(instance, anchor)))
    return [problem for problem, _ in sorted(found.values(), key=lambda found: found[1])]


def _explain(error: ValidationError) -> list[tuple[Problem, tuple[str | int, ...]]]:
    """The problems in words, each with the path that places it in the file (for sorting).

    One error is one problem, except keys that are not allowed: each one is named.
    """
    path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    custom = schema.get("errorMessage", {}).get(error.validator)
    kind = error.validator
    # The stubs type these as possibly unset; an error from iter_errors always has them.
    expected: Any = error.validator_value
    instance: Any = error.instance
    if kind == "required":
        missing = next(key for key in expected if key not in instance)
        message = custom.get(missing) if isinstance(custom, dict) else custom
        return [(((*path, missing), message or "is required"), path)]
    if kind == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        return [
            (((*path, extra), _not_allowed(extra, allowed)), (*path, extra))
            for extra in instance
            if extra not in allowed
        ]
    if "propertyNames" in error.relative_schema_path:
        # The instance is a key name, which jsonschema does not put in the path.
        path = (*path, instance)
    if kind == "enum":
        return [((path, _unknown_value(instance, expected, custom)), path)]
    if custom:
        return [((path, custom), path)]
    return [((path, _generic_message(error)), path)]


def _not_allowed(key: str, allowed: list[str]) -> str:
    folded = {name.casefold(): name for name in allowed}
    close = difflib.get_close_matches(key.casefold(), list(folded), n=1)
    hint = f" (did you mean '{folded[close[0]]}'?)" if close else ""
    return f"is not allowed here{hint}; valid keys are: {', '.join(allowed)}"


def _unknown_value(value: Any, choices: list[Any], template: str | None) -> str:
    names = sorted(str(choice) for choice in choices)
    if template and "terms type" in template:
        # Terms types are matched by meaning too: `Cookie Policy` is a `Trackers Policy`.
        from ota.declarations.schema.terms_types import suggest_terms_type

        suggested = suggest_terms_type(str(value), names)
    else:
        folded = {name.casefold(): name for name in names}
        close = difflib.get_close_matches(str(value).casefold(), list(folded), n=1)
        suggested = folded[close[0]] if close else None
    return (template or "unknown value {value}{suggestion}; valid values are: {choices}").format(
        value=f"'{value}'",
        suggestion=f" (did you mean '{suggested}'?)" if suggested else "",
        choices=", ".join(names),
    )


def _generic_message(error: ValidationError) -> str:
    kind, expected = error.validator, cast(Any, error.validator_value)
    if kind == "type":
        kinds = [expected] if isinstance(expected, str) else list(expected)
        return "must be " + " or ".join(_TYPE_WORDS.get(k, k) for k in kinds)
    if kind == "minLength":
        return "must not be empty"
    if kind == "format":
        return f"is not a valid {expected}"
    if kind in ("oneOf", "anyOf"):
        return "does not match any of the allowed forms"
    return str(error.message)


def _document_position(instance: Any, path: tuple[str | int, ...]) -> tuple[int, ...]:
    """Where `path` sits in the file: JSON objects keep their keys' order, so this is reading order."""
    position = []
    node = instance
    for part in path:
        if isinstance(node, dict) and part in node:
            position.append(list(node).index(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            position.append(part)
            node = node[part]
        else:
            break
    return tuple(position)
