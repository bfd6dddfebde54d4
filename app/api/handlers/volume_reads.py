"""``GET /cloud/volumes/{id}``: one volume, live from Cinder (and written through to the list)."""
from aiohttp import web

from ...access.scope import LIVE_READS
from ..appkeys import SERVICES
from ..authorization import authorized_query
from ..path_ids import volume_id_of
from ..schemas import ProjectQuerySchema, VolumeSchema

_PROJECT, _VOLUME = ProjectQuerySchema(), VolumeSchema()


async def show_volume(request: web.Request) -> web.Response:
    """The volume as Cinder has it now; the volumes list shows the same from then on."""
    query = await authorized_query(request, _PROJECT, LIVE_READS)
    volume = await request.app[SERVICES].reader.live_volume(query["project_id"], volume_id_of(request))
    return web.json_response(_VOLUME.dump(volume), headers={"Cache-Control": "private, no-cache"})
