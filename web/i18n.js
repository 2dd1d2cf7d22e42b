/* Vigil web map — interface strings (Vietnamese first, English second).
 *
 * Plain script (no modules, no build step): defines window.VigilI18n.
 * Labels for hotspot kinds and statuses come from GET /v1/vocab when the
 * server provides them; the ones below are the fallback.
 */
(function () {
  'use strict';

  const STORAGE_KEY = 'vigil.lang';
  const LANGS = ['vi', 'en'];

  const DICT = {
    vi: {
      'app.title': 'Bản đồ điểm, tụ điểm ma túy',
      'app.name': 'Vigil',
      'lang.switch': 'English',
      'lang.switch.aria': 'Switch the interface to English',
      'login.heading': 'Đăng nhập',
      'login.intro': 'Đăng nhập bằng tên và mật khẩu, hoặc dán mã truy cập do quản trị viên cấp.',
      'login.name': 'Tên đăng nhập',
      'login.password': 'Mật khẩu',
      'login.or': 'hoặc dùng mã truy cập',
      'login.error.password': 'Tên đăng nhập hoặc mật khẩu không đúng.',
      'login.error.429': 'Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau ít phút.',
      'login.token': 'Mã truy cập',
      'login.token.placeholder': 'vgl_…',
      'login.show': 'Hiện mã',
      'login.submit': 'Đăng nhập',
      'login.busy': 'Đang đăng nhập…',
      'login.error.401': 'Mã truy cập không đúng hoặc đã bị thu hồi. Vui lòng kiểm tra lại.',
      'login.error.empty': 'Vui lòng nhập tên và mật khẩu, hoặc mã truy cập.',
      'login.error.network': 'Không kết nối được tới máy chủ Vigil. Vui lòng thử lại.',
      'login.error.other': 'Đăng nhập không thành công',
      'login.expired': 'Phiên làm việc đã hết hạn hoặc mã truy cập không còn hiệu lực. Vui lòng đăng nhập lại.',
      'login.loggedout': 'Bạn đã đăng xuất.',
      'logout': 'Đăng xuất',
      'user.national': 'toàn quốc',
      'user.provinces': 'tỉnh',
      'user.communes': 'xã/phường',
      'role.admin': 'Quản trị',
      'role.analyst': 'Cán bộ nghiệp vụ',
      'role.reviewer': 'Cán bộ rà soát',
      'role.operator': 'Tổ bay UAV',
      'role.viewer': 'Xem',
      'filters.heading': 'Bộ lọc',
      'filters.status': 'Trạng thái',
      'filters.kind': 'Loại',
      'filters.commune': 'Mã xã/phường',
      'filters.commune.placeholder': 'ví dụ 25111',
      'filters.all': 'Tất cả',
      'filters.apply': 'Áp dụng',
      'filters.reset': 'Xóa lọc',
      'count.points': '{n} điểm',
      'count.points.one': '{n} điểm',
      'count.shown': '(đang hiển thị {m})',
      'count.loading': 'Đang tải…',
      'count.error': 'Không tải được dữ liệu điểm',
      'legend.heading': 'Chú giải',
      'legend.province': 'Ranh giới tỉnh',
      'legend.commune': 'Ranh giới xã/phường (khi phóng to)',
      'list.heading': 'Danh sách điểm trong vùng nhìn',
      'list.more': 'và {n} điểm khác — phóng to để xem',
      'list.empty': 'Không có điểm nào trong vùng nhìn.',
      'sidebar.toggle': 'Bộ lọc và chú giải',
      'skip.map': 'Chuyển tới bản đồ',
      'map.aria': 'Bản đồ điểm, tụ điểm ma túy',
      'detail.heading': 'Thông tin điểm',
      'detail.close': 'Đóng',
      'detail.loading': 'Đang tải…',
      'detail.readonly': 'Bạn chỉ có quyền xem.',
      'field.id': 'Mã số',
      'field.name': 'Tên điểm',
      'field.kind': 'Loại',
      'field.status': 'Trạng thái',
      'field.status_since': 'Trạng thái từ ngày',
      'field.address': 'Địa chỉ',
      'field.source': 'Nguồn tin',
      'field.notes': 'Ghi chú',
      'field.reported_on': 'Ngày phát hiện',
      'field.commune': 'Xã/phường',
      'field.province': 'Tỉnh',
      'field.coordinates': 'Tọa độ (WGS 84)',
      'field.created_at': 'Tạo lúc',
      'field.updated_at': 'Cập nhật lúc',
      'field.version': 'Phiên bản',
      'privacy.note': 'Không ghi thông tin cá nhân của người sử dụng ma túy',
      'edit.heading': 'Sửa thông tin',
      'edit.save': 'Lưu',
      'edit.saving': 'Đang lưu…',
      'edit.saved': 'Đã lưu.',
      'edit.nochange': 'Không có thay đổi để lưu.',
      'edit.conflict': 'Điểm này vừa được người khác cập nhật. Đã tải lại dữ liệu mới nhất; các thay đổi của bạn vẫn còn trong ô nhập — hãy kiểm tra rồi bấm Lưu lại.',
      'transition.heading': 'Chuyển trạng thái',
      'transition.on': 'Ngày',
      'transition.note': 'Ghi chú chuyển trạng thái',
      'transition.to': 'Chuyển sang: {label}',
      'transition.none': 'Không có chuyển trạng thái hợp lệ từ trạng thái này.',
      'transition.busy': 'Đang chuyển trạng thái…',
      'transition.done': 'Đã chuyển trạng thái sang “{label}”.',
      'history.heading': 'Lịch sử',
      'history.empty': 'Chưa có thay đổi trạng thái.',
      'history.created': 'Tạo mới',
      'history.by': 'bởi {actor}',
      'history.recorded': 'ghi lúc {t}',
      'history.error': 'Không tải được lịch sử',
      'error.generic': 'Có lỗi xảy ra',
      'error.network': 'Không kết nối được tới máy chủ.',
      'error.forbidden': 'Bạn không có quyền thực hiện thao tác này.',
      'basemap.attribution': 'Nền bản đồ: Natural Earth',
      'layer.survey.imagery': 'Ảnh bay khảo sát',
      'layer.survey.footprints': 'Phạm vi bay',
      'legend.survey': 'Phạm vi bay khảo sát (ảnh UAV)',
      'survey.tooltip': '{name} — bay ngày {date}',
      'upload.open': 'Tải ảnh bay lên',
      'upload.heading': 'Tải ảnh bay khảo sát lên',
      'upload.close': 'Đóng khung tải lên',
      'upload.intro': 'Chọn ảnh trực giao từ UAV (GeoTIFF đã nắn chỉnh, có hệ tọa độ). Có thể chọn nhiều tệp. Nếu mất mạng hoặc tải lại trang, việc tải lên sẽ tiếp tục từ phần còn thiếu.',
      'upload.pick': 'Chọn tệp…',
      'upload.drop': 'hoặc kéo thả tệp vào đây',
      'upload.empty': 'Chưa có tệp nào đang tải lên.',
      'upload.bar.hash': 'Tính mã kiểm tra',
      'upload.bar.upload': 'Tải lên',
      'upload.bar.ingest': 'Xử lý ảnh',
      'upload.state.hashing': 'Đang tính mã kiểm tra của tệp…',
      'upload.state.waiting': 'Đang chờ đến lượt…',
      'upload.state.creating': 'Đang mở phiên tải lên…',
      'upload.state.checking': 'Đang hỏi máy chủ phần đã nhận…',
      'upload.state.uploading': 'Đang tải lên…',
      'upload.bytes': 'Đã gửi {done} / {total}',
      'upload.state.retrying': 'Mất kết nối, đang thử lại (lần {n})…',
      'upload.state.committing': 'Máy chủ đang kiểm tra tệp…',
      'upload.state.starting': 'Đang gửi yêu cầu xử lý ảnh…',
      'upload.state.queued': 'Đã tải lên, đang chờ xử lý…',
      'upload.state.running': 'Đang xử lý: {stage}…',
      'upload.state.ready': 'Hoàn tất: đợt bay đã có trên bản đồ.',
      'upload.state.failed': 'Xử lý ảnh không thành công.',
      'upload.state.cancelling': 'Đang hủy…',
      'upload.state.cancelled': 'Đã hủy.',
      'upload.state.error': 'Tải lên bị dừng.',
      'upload.state.needsFile': 'Chọn lại tệp để tiếp tục',
      'upload.state.needsFile.hint': 'Đã tải lên {done} / {total}. Chọn lại đúng tệp này (nút “Chọn tệp…”) để tải tiếp phần còn thiếu.',
      'upload.state.resumed': 'Tiếp tục từ phần còn thiếu: còn {n} / {total} phần.',
      'upload.stage.validate': 'kiểm tra tệp',
      'upload.stage.tile': 'cắt ô ảnh',
      'upload.stage.overviews': 'tạo ảnh thu nhỏ',
      'upload.stage.footprint': 'vẽ phạm vi bay',
      'upload.stage.index': 'lập chỉ mục',
      'upload.cancel': 'Hủy',
      'upload.retry': 'Thử lại',
      'upload.restart': 'Tải lại từ đầu',
      'upload.dismiss': 'Ẩn',
      'upload.show': 'Xem trên bản đồ',
      'upload.detail': 'Chi tiết từ máy chủ:',
      'upload.err.network': 'Không kết nối được tới máy chủ. Phần đã tải lên vẫn được giữ; bấm “Thử lại” khi có mạng.',
      'upload.err.401': 'Phiên làm việc đã hết hạn. Hãy đăng nhập lại; việc tải lên sẽ tiếp tục sau khi đăng nhập.',
      'upload.err.403': 'Bạn không có quyền tải ảnh bay lên (cần vai trò Tổ bay UAV hoặc Quản trị).',
      'upload.err.404': 'Máy chủ không còn phiên tải lên hoặc đợt bay này (có thể đã bị hủy hoặc hết hạn).',
      'upload.err.409': 'Không thực hiện được ở trạng thái hiện tại của tệp trên máy chủ (đã hủy, hết hạn, hoặc đã được xử lý).',
      'upload.err.413.quota': 'Vượt hạn mức lưu trữ của bạn trên máy chủ. Hãy hủy bớt các tệp đang tải dở hoặc liên hệ quản trị viên.',
      'upload.err.413.size': 'Tệp quá lớn: vượt kích thước tối đa máy chủ cho phép cho một lần tải lên.',
      'upload.err.422': 'Máy chủ từ chối thông tin gửi lên (dữ liệu không hợp lệ).',
      'upload.err.checksum': 'Tệp máy chủ nhận được không khớp mã kiểm tra (tệp đã bị sửa hoặc hỏng khi truyền). Hãy tải lại từ đầu.',
      'upload.err.429': 'Máy chủ đang bận. Vui lòng thử lại sau ít phút.',
      'upload.err.5xx': 'Máy chủ gặp lỗi. Vui lòng thử lại sau; nếu vẫn lỗi, hãy báo quản trị viên.',
      'upload.err.http': 'Có lỗi xảy ra (HTTP {status}).',
      'upload.err.read': 'Không đọc được tệp trên máy này (tệp đã bị di chuyển, xóa hoặc không có quyền đọc).',
      'upload.err.empty': 'Tệp rỗng (0 byte), không có gì để tải lên.',
      'upload.err.gone': 'Phiên tải lên trước đó đã hết hạn hoặc bị hủy trên máy chủ. Hãy chọn lại tệp để tải lên từ đầu.',
      'survey.err.not_georeferenced': 'Ảnh chưa được nắn chỉnh tọa độ (không có thông tin vị trí). Hãy xuất ảnh trực giao dạng GeoTIFF có hệ tọa độ.',
      'survey.err.unknown_crs': 'Không nhận ra hệ tọa độ của ảnh. Hãy xuất lại với hệ tọa độ thông dụng (ví dụ WGS 84 / UTM 48N hoặc VN-2000).',
      'survey.err.band_layout': 'Cấu trúc kênh ảnh không được hỗ trợ (cần RGB, RGB + alpha hoặc RGB + cận hồng ngoại).',
      'survey.err.too_many_pixels': 'Ảnh quá lớn (quá nhiều điểm ảnh) để xử lý. Hãy chia nhỏ vùng bay hoặc giảm độ phân giải.',
      'survey.err.corrupt': 'Tệp ảnh bị hỏng hoặc không đọc được.',
      'survey.err.unsupported_type': 'Định dạng tệp không được hỗ trợ. Hãy tải lên ảnh GeoTIFF.',
      'survey.err.outside_jurisdiction': 'Vùng bay nằm ngoài địa bàn bạn phụ trách.',
      'survey.err.cancelled': 'Việc xử lý ảnh đã bị hủy.',
      'survey.err.internal': 'Máy chủ gặp lỗi khi xử lý ảnh. Hãy thử lại hoặc báo quản trị viên.',
      'survey.err.unknown': 'Xử lý ảnh không thành công (mã lỗi {code}).',
      'unknown': '—'
    },
    en: {
      'app.title': 'Drug hotspot map',
      'app.name': 'Vigil',
      'lang.switch': 'Tiếng Việt',
      'lang.switch.aria': 'Chuyển giao diện sang tiếng Việt',
      'login.heading': 'Log in',
      'login.intro': 'Log in with your name and password, or paste the access token your administrator gave you.',
      'login.name': 'User name',
      'login.password': 'Password',
      'login.or': 'or use an access token',
      'login.error.password': 'Wrong user name or password.',
      'login.error.429': 'Too many failed logins. Please try again in a few minutes.',
      'login.token': 'Access token',
      'login.token.placeholder': 'vgl_…',
      'login.show': 'Show token',
      'login.submit': 'Log in',
      'login.busy': 'Logging in…',
      'login.error.401': 'The access token is wrong or has been revoked. Please check it.',
      'login.error.empty': 'Please enter your name and password, or an access token.',
      'login.error.network': 'Cannot reach the Vigil server. Please try again.',
      'login.error.other': 'Login failed',
      'login.expired': 'Your session has expired or the access token is no longer valid. Please log in again.',
      'login.loggedout': 'You have logged out.',
      'logout': 'Log out',
      'user.national': 'national',
      'user.provinces': 'provinces',
      'user.communes': 'communes',
      'role.admin': 'Administrator',
      'role.analyst': 'Analyst',
      'role.reviewer': 'Reviewer',
      'role.operator': 'Drone operator',
      'role.viewer': 'Viewer',
      'filters.heading': 'Filters',
      'filters.status': 'Status',
      'filters.kind': 'Kind',
      'filters.commune': 'Commune code',
      'filters.commune.placeholder': 'e.g. 25111',
      'filters.all': 'All',
      'filters.apply': 'Apply',
      'filters.reset': 'Clear filters',
      'count.points': '{n} hotspots',
      'count.points.one': '{n} hotspot',
      'count.shown': '({m} shown)',
      'count.loading': 'Loading…',
      'count.error': 'Could not load hotspots',
      'legend.heading': 'Legend',
      'legend.province': 'Province boundary',
      'legend.commune': 'Commune boundary (zoomed in)',
      'list.heading': 'Hotspots in view',
      'list.more': 'and {n} more — zoom in to see them',
      'list.empty': 'No hotspots in view.',
      'sidebar.toggle': 'Filters and legend',
      'skip.map': 'Skip to the map',
      'map.aria': 'Drug hotspot map',
      'detail.heading': 'Hotspot details',
      'detail.close': 'Close',
      'detail.loading': 'Loading…',
      'detail.readonly': 'You have read-only access.',
      'field.id': 'ID',
      'field.name': 'Name',
      'field.kind': 'Kind',
      'field.status': 'Status',
      'field.status_since': 'Status since',
      'field.address': 'Address',
      'field.source': 'Source',
      'field.notes': 'Notes',
      'field.reported_on': 'Reported on',
      'field.commune': 'Commune',
      'field.province': 'Province',
      'field.coordinates': 'Coordinates (WGS 84)',
      'field.created_at': 'Created',
      'field.updated_at': 'Updated',
      'field.version': 'Version',
      'privacy.note': 'Do not record personal information about people who use drugs',
      'edit.heading': 'Edit',
      'edit.save': 'Save',
      'edit.saving': 'Saving…',
      'edit.saved': 'Saved.',
      'edit.nochange': 'Nothing to save.',
      'edit.conflict': 'Someone else has just updated this hotspot. The latest version has been loaded; your changes are still in the form — check them and press Save again.',
      'transition.heading': 'Change status',
      'transition.on': 'Date',
      'transition.note': 'Note on the change',
      'transition.to': 'Change to: {label}',
      'transition.none': 'No status change is allowed from this status.',
      'transition.busy': 'Changing status…',
      'transition.done': 'Status changed to “{label}”.',
      'history.heading': 'History',
      'history.empty': 'No status changes yet.',
      'history.created': 'Created',
      'history.by': 'by {actor}',
      'history.recorded': 'recorded {t}',
      'history.error': 'Could not load the history',
      'error.generic': 'Something went wrong',
      'error.network': 'Cannot reach the server.',
      'error.forbidden': 'You are not allowed to do this.',
      'basemap.attribution': 'Basemap: Natural Earth',
      'layer.survey.imagery': 'Survey imagery',
      'layer.survey.footprints': 'Survey footprints',
      'legend.survey': 'Survey footprint (drone imagery)',
      'survey.tooltip': '{name} — flown {date}',
      'upload.open': 'Upload imagery',
      'upload.heading': 'Upload survey imagery',
      'upload.close': 'Close the upload panel',
      'upload.intro': 'Choose drone orthomosaics (georeferenced GeoTIFF with a coordinate system). Several files at once are fine. If the connection drops or the page reloads, the upload continues from what is missing.',
      'upload.pick': 'Choose files…',
      'upload.drop': 'or drop files here',
      'upload.empty': 'No uploads in progress.',
      'upload.bar.hash': 'Checksum',
      'upload.bar.upload': 'Upload',
      'upload.bar.ingest': 'Processing',
      'upload.state.hashing': 'Computing the file checksum…',
      'upload.state.waiting': 'Waiting for its turn…',
      'upload.state.creating': 'Starting the upload…',
      'upload.state.checking': 'Asking the server what it has…',
      'upload.state.uploading': 'Uploading…',
      'upload.bytes': '{done} of {total} sent',
      'upload.state.retrying': 'Connection lost; retrying (attempt {n})…',
      'upload.state.committing': 'The server is checking the file…',
      'upload.state.starting': 'Requesting processing…',
      'upload.state.queued': 'Uploaded; waiting to be processed…',
      'upload.state.running': 'Processing: {stage}…',
      'upload.state.ready': 'Done: the survey is on the map.',
      'upload.state.failed': 'Processing failed.',
      'upload.state.cancelling': 'Cancelling…',
      'upload.state.cancelled': 'Cancelled.',
      'upload.state.error': 'The upload stopped.',
      'upload.state.needsFile': 'Choose the file again to continue',
      'upload.state.needsFile.hint': '{done} of {total} uploaded. Choose this same file again (“Choose files…”) to send what is missing.',
      'upload.state.resumed': 'Continuing with what is missing: {n} of {total} chunks left.',
      'upload.stage.validate': 'validating',
      'upload.stage.tile': 'cutting tiles',
      'upload.stage.overviews': 'building overviews',
      'upload.stage.footprint': 'tracing the footprint',
      'upload.stage.index': 'indexing',
      'upload.cancel': 'Cancel',
      'upload.retry': 'Retry',
      'upload.restart': 'Start again',
      'upload.dismiss': 'Dismiss',
      'upload.show': 'Show on the map',
      'upload.detail': 'Server detail:',
      'upload.err.network': 'Cannot reach the server. What was uploaded is kept; press “Retry” when the connection is back.',
      'upload.err.401': 'Your session has expired. Log in again; the upload continues after you log in.',
      'upload.err.403': 'You are not allowed to upload imagery (this needs the drone operator or administrator role).',
      'upload.err.404': 'The server no longer has this upload or survey (it may have been cancelled or have expired).',
      'upload.err.409': 'Not possible in the file’s current state on the server (cancelled, expired or already processed).',
      'upload.err.413.quota': 'This would exceed your storage quota on the server. Cancel some unfinished uploads or ask an administrator.',
      'upload.err.413.size': 'The file is too large: it exceeds the largest upload the server accepts.',
      'upload.err.422': 'The server refused what was sent (invalid data).',
      'upload.err.checksum': 'The file the server received does not match its checksum (the file changed or was damaged in transit). Start again.',
      'upload.err.429': 'The server is busy. Please try again in a few minutes.',
      'upload.err.5xx': 'The server had an error. Please try again later; if it persists, tell an administrator.',
      'upload.err.http': 'Something went wrong (HTTP {status}).',
      'upload.err.read': 'The file cannot be read on this computer (it was moved, deleted, or is not readable).',
      'upload.err.empty': 'The file is empty (0 bytes); there is nothing to upload.',
      'upload.err.gone': 'The earlier upload has expired or was cancelled on the server. Choose the file again to upload it from the start.',
      'survey.err.not_georeferenced': 'The image is not georeferenced (it has no location). Export the orthomosaic as a GeoTIFF with a coordinate system.',
      'survey.err.unknown_crs': 'The image’s coordinate system is not recognised. Export it again in a common one (e.g. WGS 84 / UTM 48N or VN-2000).',
      'survey.err.band_layout': 'The image’s bands are not supported (RGB, RGB + alpha or RGB + near-infrared are).',
      'survey.err.too_many_pixels': 'The image is too large (too many pixels) to process. Split the flight area or lower the resolution.',
      'survey.err.corrupt': 'The image file is damaged or unreadable.',
      'survey.err.unsupported_type': 'This file type is not supported. Upload a GeoTIFF.',
      'survey.err.outside_jurisdiction': 'The flight area is outside your jurisdiction.',
      'survey.err.cancelled': 'Processing was cancelled.',
      'survey.err.internal': 'The server had an error while processing the image. Try again or tell an administrator.',
      'survey.err.unknown': 'Processing failed (error code {code}).',
      'unknown': '—'
    }
  };

  // Fallback vocabulary, used when GET /v1/vocab is unavailable.
  const DEFAULT_VOCAB = {
    kinds: [
      { code: 'diem_ban_le', vi: 'Điểm bán lẻ', en: 'Retail point' },
      { code: 'diem_su_dung', vi: 'Điểm sử dụng', en: 'Use point' },
      { code: 'tu_diem_su_dung', vi: 'Tụ điểm sử dụng', en: 'Organised use site' },
      { code: 'diem_nong', vi: 'Điểm nóng', en: 'Hot point' },
      { code: 'boong_ke', vi: 'Boong-ke', en: 'Bunker (fortified retail point)' },
      { code: 'khac', vi: 'Khác', en: 'Other' }
    ],
    statuses: [
      { code: 'reported', vi: 'Phát hiện', en: 'Reported', color: '#e67e22' },
      { code: 'verifying', vi: 'Đang xác minh, đấu tranh', en: 'Being verified / fought', color: '#f1c40f' },
      { code: 'eliminated', vi: 'Đã triệt xóa', en: 'Eliminated', color: '#27ae60' },
      { code: 'reemerged', vi: 'Tái phức tạp', en: 'Re-emerged', color: '#c0392b' }
    ],
    transitions: {
      reported: ['verifying', 'eliminated'],
      verifying: ['eliminated'],
      eliminated: ['reemerged'],
      reemerged: ['verifying', 'eliminated']
    }
  };

  function storedLang() {
    try {
      const v = window.localStorage.getItem(STORAGE_KEY);
      return LANGS.includes(v) ? v : null;
    } catch (_) {
      return null;
    }
  }

  let lang = storedLang() || 'vi';

  function t(key, params) {
    let s = (DICT[lang] && DICT[lang][key]) ?? DICT.vi[key] ?? key;
    if (params) {
      s = s.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
    }
    return s;
  }

  function setLang(next) {
    if (!LANGS.includes(next)) return;
    lang = next;
    try {
      window.localStorage.setItem(STORAGE_KEY, next);
    } catch (_) {
      /* private mode: keep it for this page only */
    }
    applyStatic(document);
  }

  /** Fill every element carrying data-i18n* attributes under root. */
  function applyStatic(root) {
    document.documentElement.lang = lang;
    root.querySelectorAll('[data-i18n]').forEach((el) => {
      el.textContent = t(el.getAttribute('data-i18n'));
    });
    for (const attr of ['placeholder', 'title', 'aria-label']) {
      root.querySelectorAll(`[data-i18n-${attr}]`).forEach((el) => {
        el.setAttribute(attr, t(el.getAttribute(`data-i18n-${attr}`)));
      });
    }
  }

  /** Number formatting in the current language (1.234 in Vietnamese). */
  function num(n) {
    try {
      return new Intl.NumberFormat(lang === 'vi' ? 'vi-VN' : 'en-GB').format(n);
    } catch (_) {
      return String(n);
    }
  }

  window.VigilI18n = {
    t,
    num,
    setLang,
    applyStatic,
    get lang() {
      return lang;
    },
    LANGS,
    DEFAULT_VOCAB
  };
})();
